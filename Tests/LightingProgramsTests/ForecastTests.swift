import LightingPrograms
import Testing

@Suite("Program forecast")
struct ForecastTests {
    @Test("fixed clock times: every night 12 h lit, 5 h at full and 7 h at half, each month by its nights")
    func fixedTimes() throws {
        let program = try ProgramText.parse("18:00 100%\n23:00 50%\n06:00 off\n")
        let place = Place(latitude: 52.37, longitude: 4.9, timeZone: try PosixTimeZone("UTC0"))
        let months = ProgramEvaluator(program: program, place: place).forecast(year: 2027)
        #expect(months.map(\.month) == Array(1...12))
        #expect(months.map(\.nights) == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
        #expect(months[0].litSeconds == 31 * 12 * 3600)
        #expect(months[0].fullPowerSeconds == 31 * 8.5 * 3600)
        #expect(months.reduce(0) { $0 + $1.litSeconds } == 365 * 12 * 3600)
    }

    @Test("sunset to sunrise: long nights in winter, short in summer; polar night keeps an all-night program on all day")
    func solar() throws {
        let program = try ProgramText.parse("sunset on\nsunrise off\n")
        let amsterdam = ProgramEvaluator(program: program, place: Place(latitude: 52.37, longitude: 4.9, timeZone: try PosixTimeZone("UTC0")))
        let months = amsterdam.forecast(year: 2027)
        // About 16 h a December night and 7 h a June night at 52° N.
        #expect((15.5 * 31 * 3600...16.5 * 31 * 3600).contains(Double(months[11].litSeconds)))
        #expect((6.5 * 30 * 3600...7.5 * 30 * 3600).contains(Double(months[5].litSeconds)))
        // 'on' is full level: energy-equivalent time equals lit time.
        #expect(months[11].fullPowerSeconds == Double(months[11].litSeconds))
        let tromso = ProgramEvaluator(program: program, place: Place(latitude: 69.65, longitude: 18.96, timeZone: try PosixTimeZone("UTC0")))
        let december = tromso.forecast(year: 2027)[11]
        // Polar night from late November to mid January: most December nights are 24 h.
        #expect(december.litSeconds > 20 * 24 * 3600)
    }
}
