//! The platform's fee on paid orders.

/// Fee settings.
#[derive(Debug, Clone, Copy)]
pub struct FeePolicy {
    /// Basis points of the order total.
    pub bps: i64,
    /// Fixed minor units per paid order.
    pub fixed_minor: i64,
}

impl FeePolicy {
    /// The fee on an amount: `bps` basis points (rounded half up) plus the fixed part.
    pub fn fee(self, amount_minor: i64) -> i64 {
        if amount_minor == 0 {
            return 0;
        }
        (amount_minor * self.bps + 5_000) / 10_000 + self.fixed_minor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_round_half_up() {
        let f = |bps, fixed_minor| FeePolicy { bps, fixed_minor };
        assert_eq!(f(250, 0).fee(10_000), 250);
        assert_eq!(f(250, 30).fee(4_990), 125 + 30);
        assert_eq!(f(250, 30).fee(0), 0);
    }
}
