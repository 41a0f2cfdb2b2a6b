import CoreLocation

extension LocationFix {
    /// A fix from CoreLocation, or nil when the location has no valid horizontal
    /// accuracy (CoreLocation reports a negative one), which cannot be judged on scene.
    /// `mock` is `sourceInformation.isSimulatedBySoftware` (a simulated or spoofed
    /// location); CoreLocation fuses its sources, so the provider is `.fused`.
    public init?(location: CLLocation) {
        guard location.horizontalAccuracy >= 0 else { return nil }
        self.init(
            lat: location.coordinate.latitude,
            lon: location.coordinate.longitude,
            accuracyM: location.horizontalAccuracy,
            altitudeM: location.verticalAccuracy > 0 ? location.altitude : nil,
            provider: .fused,
            fixTime: location.timestamp,
            mock: location.sourceInformation?.isSimulatedBySoftware ?? false
        )
    }
}
