//! Android only. The sync client checks the hub's TLS certificate with Android's own
//! trust store (user-installed CAs, revocation) through rustls-platform-verifier,
//! which must be handed the app's Context once, before the first sync. The Kotlin side
//! is `org.testigo.android.platform.AndroidTls.install(context)`.

use jni::objects::{JClass, JObject};
use jni::EnvUnowned;

/// `AndroidTls.initialize(context)`: a JNI call rather than a uniffi export, because it
/// needs the JNI environment and a live `android.content.Context`. Errors and panics
/// become a Java `RuntimeException`.
#[no_mangle]
pub extern "system" fn Java_org_testigo_android_platform_AndroidTls_initialize<'local>(
    mut unowned_env: EnvUnowned<'local>,
    _class: JClass<'local>,
    context: JObject<'local>,
) {
    unowned_env
        .with_env(|env| rustls_platform_verifier::android::init_with_env(env, context))
        .resolve::<jni::errors::ThrowRuntimeExAndDefault>()
}
