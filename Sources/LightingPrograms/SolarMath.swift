/// Trigonometry in plain Swift, because the standard library has none and this module must
/// build without Foundation or a C library (Embedded Swift on lamp firmware).
///
/// Accurate to about 1e-15 in the ranges the solar calculator uses, far below the one second
/// the calculator is checked to.
enum SolarMath {
    static let pi = 3.141592653589793
    static let halfPi = pi / 2
    static let quarterPi = pi / 4

    static func radians(_ degrees: Double) -> Double { degrees * pi / 180 }
    static func degrees(_ radians: Double) -> Double { radians * 180 / pi }

    /// Reduces `x` to `r` in [-π/4, π/4] with x = r + k·π/2, returning (r, k mod 4).
    private static func reduce(_ x: Double) -> (Double, Int) {
        let k = (x / halfPi).rounded()
        let r = x - k * halfPi
        var quadrant = Int(k.truncatingRemainder(dividingBy: 4))
        if quadrant < 0 { quadrant += 4 }
        return (r, quadrant)
    }

    /// Taylor series of sin on [-π/4, π/4] (the terms fall below 1e-17 by x^19).
    private static func sinKernel(_ x: Double) -> Double {
        let x2 = x * x
        var term = x
        var sum = x
        var n = 1.0
        for _ in 0..<9 {
            term *= -x2 / ((n + 1) * (n + 2))
            sum += term
            n += 2
        }
        return sum
    }

    private static func cosKernel(_ x: Double) -> Double {
        let x2 = x * x
        var term = 1.0
        var sum = 1.0
        var n = 0.0
        for _ in 0..<9 {
            term *= -x2 / ((n + 1) * (n + 2))
            sum += term
            n += 2
        }
        return sum
    }

    static func sin(_ x: Double) -> Double {
        let (r, quadrant) = reduce(x)
        switch quadrant {
        case 0: return sinKernel(r)
        case 1: return cosKernel(r)
        case 2: return -sinKernel(r)
        default: return -cosKernel(r)
        }
    }

    static func cos(_ x: Double) -> Double {
        let (r, quadrant) = reduce(x)
        switch quadrant {
        case 0: return cosKernel(r)
        case 1: return -sinKernel(r)
        case 2: return -cosKernel(r)
        default: return sinKernel(r)
        }
    }

    static func tan(_ x: Double) -> Double { sin(x) / cos(x) }

    /// atan on all reals: atan(x) = π/2 - atan(1/x) for |x| > 1, and two half-angle steps
    /// (atan(x) = 2·atan(x / (1 + √(1 + x²)))) so the series converges fast.
    static func atan(_ x: Double) -> Double {
        if x < 0 { return -atan(-x) }
        if x > 1 { return halfPi - atan(1 / x) }
        var y = x
        for _ in 0..<2 {
            y = y / (1 + (1 + y * y).squareRoot())
        }
        // |y| <= tan(π/16) ≈ 0.199: 14 terms reach 1e-20.
        let y2 = y * y
        var term = y
        var sum = y
        var n = 1.0
        for _ in 0..<14 {
            term *= -y2
            n += 2
            sum += term / n
        }
        return 4 * sum
    }

    static func atan2(_ y: Double, _ x: Double) -> Double {
        if x > 0 { return atan(y / x) }
        if x < 0 { return y >= 0 ? atan(y / x) + pi : atan(y / x) - pi }
        return y > 0 ? halfPi : (y < 0 ? -halfPi : 0)
    }

    static func asin(_ x: Double) -> Double { atan2(x, (1 - x * x).squareRoot()) }
    static func acos(_ x: Double) -> Double { atan2((1 - x * x).squareRoot(), x) }
}
