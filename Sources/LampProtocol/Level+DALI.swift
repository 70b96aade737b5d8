/// Conversion between the protocol's level scale and DALI arc power (SPEC.md §6.2).
///
/// DALI (IEC 62386-102) arc power n in 1...254 gives X(n) = 10^((n-1)*3/253 - 1) percent of
/// full light; 0 is off. In our per-mille scale that is 10^(3(n-1)/253), from 1 (0.1 %) to
/// 1000. Both directions use integer tables, computed from that formula and checked against
/// it by the tests, so firmware without floating point gets the same answers.
extension Level {
    /// The DALI arc power nearest in the logarithmic sense: 0 for off, else
    /// round(1 + 253·log10(permille)/3), which lies in 1...254.
    public var daliArcPower: UInt8 {
        guard permille > 0 else { return 0 }
        // Count thresholds at or below the level: a binary search over a sorted table.
        var low = 0
        var high = Level.arcThresholds.count
        while low < high {
            let middle = (low + high) / 2
            if Level.arcThresholds[middle] <= permille {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return UInt8(1 + low)
    }

    /// The level nearest to DALI arc power `arc`: round(10^(3(arc-1)/253)) per mille, 0 for
    /// 0. Nil for 255, which DALI reserves as "mask" (no change).
    public init?(daliArcPower arc: UInt8) {
        guard arc < 255 else { return nil }
        self.init(unchecked: Level.permilleForArc[Int(arc)])
    }

    /// permilleForArc[n] = round(10^(3(n-1)/253)) for n in 1...254; 0 for n = 0.
    static let permilleForArc: [UInt16] = [
        0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
        2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4,
        4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5,
        6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8,
        9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 12, 12, 12, 13, 13,
        13, 14, 14, 15, 15, 15, 16, 16, 17, 17, 18, 18, 19, 19, 20, 20,
        21, 21, 22, 22, 23, 24, 24, 25, 26, 26, 27, 28, 29, 30, 30, 31,
        32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48,
        50, 51, 52, 54, 55, 57, 58, 60, 62, 63, 65, 67, 69, 71, 73, 75,
        77, 79, 81, 83, 86, 88, 90, 93, 96, 98, 101, 104, 107, 110, 113, 116,
        119, 122, 126, 129, 133, 136, 140, 144, 148, 152, 156, 161, 165, 170, 174, 179,
        184, 189, 194, 200, 205, 211, 217, 223, 229, 235, 242, 248, 255, 262, 270, 277,
        285, 293, 301, 309, 318, 326, 335, 345, 354, 364, 374, 385, 395, 406, 417, 429,
        441, 453, 466, 478, 492, 505, 519, 534, 548, 564, 579, 595, 612, 629, 646, 664,
        682, 701, 721, 741, 761, 782, 804, 826, 849, 872, 897, 921, 947, 973, 1000,
    ]

    /// arcThresholds[n-2] = the smallest level whose arc power is at least n, n in 2...254:
    /// ceil(10^(3(n-1.5)/253)).
    static let arcThresholds: [UInt16] = [
        2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
        2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3,
        3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4,
        4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6,
        6, 6, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8, 9, 9, 9, 9,
        10, 10, 10, 10, 11, 11, 11, 11, 12, 12, 12, 13, 13, 13, 14, 14,
        14, 15, 15, 16, 16, 16, 17, 17, 18, 18, 19, 19, 20, 20, 21, 21,
        22, 23, 23, 24, 25, 25, 26, 27, 27, 28, 29, 30, 30, 31, 32, 33,
        34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 51,
        52, 54, 55, 57, 58, 60, 61, 63, 65, 67, 68, 70, 72, 74, 76, 78,
        81, 83, 85, 87, 90, 92, 95, 97, 100, 103, 106, 109, 112, 115, 118, 121,
        124, 128, 131, 135, 139, 142, 146, 150, 155, 159, 163, 168, 172, 177, 182, 187,
        192, 198, 203, 209, 214, 220, 226, 233, 239, 246, 252, 259, 267, 274, 281, 289,
        297, 305, 314, 323, 331, 341, 350, 360, 370, 380, 390, 401, 412, 424, 435, 447,
        460, 472, 486, 499, 513, 527, 542, 556, 572, 588, 604, 621, 638, 655, 674, 692,
        711, 731, 751, 772, 793, 815, 838, 861, 885, 909, 935, 960, 987,
    ]
}
