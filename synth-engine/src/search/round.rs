//! How round a number reads, for choosing the constants a person would write.

/// How round a number reads: trailing decimal zeros count twice, a multiple of 5 once, a
/// power of two from 1024 up as much as the power of ten below it.
pub(super) fn roundness(v: i64) -> u32 {
    if v == 0 {
        return 40;
    }
    let mut a = v.unsigned_abs();
    let mut zeros = 0;
    while a.is_multiple_of(10) {
        zeros += 1;
        a /= 10;
    }
    let mut score = 2 * zeros + u32::from(a.is_multiple_of(5));
    let magnitude = v.unsigned_abs();
    if magnitude >= 1024 && magnitude.is_power_of_two() {
        score = score.max(2 * (magnitude.ilog10()));
    }
    score
}
