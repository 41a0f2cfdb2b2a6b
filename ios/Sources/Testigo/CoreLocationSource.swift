import CoreLocation

/// One-shot location fixes for check-ins and observations. The app has asked for
/// when-in-use authorization before calling.
@MainActor
public final class CoreLocationSource: NSObject, CLLocationManagerDelegate {
    public enum Failure: Error {
        /// Location services are off or the user denied access.
        case notAuthorized
        /// A request is already running; await it instead.
        case busy
    }

    private let manager = CLLocationManager()
    private var pending: CheckedContinuation<LocationFix?, Error>?

    public override init() {
        super.init()
        manager.delegate = self
        manager.desiredAccuracy = kCLLocationAccuracyBest
    }

    /// One fresh fix, or nil when CoreLocation delivered none with a usable accuracy.
    public func currentFix() async throws -> LocationFix? {
        switch manager.authorizationStatus {
        case .authorizedWhenInUse, .authorizedAlways: break
        default: throw Failure.notAuthorized
        }
        guard pending == nil else { throw Failure.busy }
        return try await withCheckedThrowingContinuation { continuation in
            pending = continuation
            manager.requestLocation()
        }
    }

    public nonisolated func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        let fix = locations.last.flatMap(LocationFix.init(location:))
        Task { @MainActor in self.finish(.success(fix)) }
    }

    public nonisolated func locationManager(_ manager: CLLocationManager, didFailWithError error: Error) {
        Task { @MainActor in self.finish(.failure(error)) }
    }

    private func finish(_ result: Result<LocationFix?, Error>) {
        pending?.resume(with: result)
        pending = nil
    }
}
