//! Small text helpers every mapping module uses.

/// A value with its surrounding whitespace removed; blank counts as absent.
pub(crate) fn clean(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// True for Namely's `inactive` user status (any case, any surrounding space).
pub(crate) fn is_inactive(user_status: Option<&str>) -> bool {
    clean(user_status).is_some_and(|s| s.eq_ignore_ascii_case("inactive"))
}

/// 64-bit FNV-1a: tiny, dependency-free and the same on every platform and release.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A stored fingerprint: the FNV-1a hash of `bytes` as 16 lowercase hex digits.
pub(crate) fn fingerprint(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a64(bytes))
}
