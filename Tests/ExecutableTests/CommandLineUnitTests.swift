import CommandLineSupport
import FleetCore
import LampCSV
import OperatorAPI
import Testing

/// The pieces the command lines share, as values: the CSV format, "did you mean", negative numbers.
@Suite("Command-line helpers")
struct CommandLineUnitTests {
    @Test("CSV: a cabinet column registers each lamp's cabinet; a cabinet that is not a name is refused naming the field")
    func csvCabinet() throws {
        let rows = try LampCSV.parse("id,cabinet,wattage\nq-1,C-7,40\nq-2,,40\n", file: "f.csv")
        #expect(rows.map(\.registration.cabinet) == ["C-7", nil])
        #expect { _ = try LampRecord.validated(id: "q-3", name: nil, latitude: nil, longitude: nil, wattage: nil, groups: [], cabinet: "C 7") } throws: {
            ($0 as? FleetError)?.field == "cabinet"
        }
        #expect(try LampRecord.validated(id: "q-4", name: nil, latitude: nil, longitude: nil, wattage: nil, groups: [], cabinet: "C-7").cabinet == "C-7")
    }

    @Test("CSV: quoted fields hold commas, quotes and line breaks; lines are counted across them")
    func csvQuoting() throws {
        let text = "id,name,latitude,longitude,groups\nq-1,\"Quay, north\",52.1,4.5,harbour;pier\nq-2,\"the \"\"old\"\"\nlamp\",,,\nq-3,,,,\n"
        let rows = try LampCSV.parse(text, file: "f.csv")
        #expect(rows.map(\.line) == [2, 3, 5])
        #expect(rows[0].registration == LampRegistration(id: "q-1", name: "Quay, north", groups: ["harbour", "pier"], latitude: 52.1, longitude: 4.5))
        #expect(rows[1].registration.name == "the \"old\"\nlamp")
        #expect(throws: LampCSVError.self) { try LampCSV.parse("id,latitude\nq-1,north\n", file: "f.csv") }
        do {
            _ = try LampCSV.parse("id,latitude\nq-1,north\n", file: "f.csv")
        } catch {
            #expect(error.description == "f.csv:2: latitude 'north' is not a number")
        }
        do {
            _ = try LampCSV.parse("id,colour\n", file: "f.csv")
        } catch {
            #expect(error.description.contains("f.csv:1: column 2 'colour' is not one of id, name"))
        }
        #expect(LampCSV.lamps(1) == "1 lamp" && LampCSV.lamps(2) == "2 lamps")
        #expect(LampCSV.numberedIDs(prefix: "lamp-", start: 1, count: 3) == ["lamp-0001", "lamp-0002", "lamp-0003"])
        #expect(LampCSV.numberedIDs(prefix: "p", start: 9999, count: 2) == ["p09999", "p10000"])
        // As wide as start + count, as lampsim numbers the same lamps.
        #expect(LampCSV.numberedIDs(prefix: "lamp-", start: 1, count: 9999).last == "lamp-09999")
    }

    @Test("negative numbers become values; option values and -- are left alone")
    func negativeNumbers() {
        #expect(NegativeNumbers.escape(["dim", "all", "-5", "--fade", "2"]) == ["dim", "all", "--fade", "2", "--", "-5"])
        #expect(NegativeNumbers.escape(["lamps", "add", "x", "--longitude", "-74"]) == ["lamps", "add", "x", "--longitude", "-74"])
        #expect(NegativeNumbers.escape(["dim", "--", "all", "-5"]) == ["dim", "--", "all", "-5"])
        #expect(NegativeNumbers.isNegativeNumber("-0.5") && NegativeNumbers.isNegativeNumber("-.5"))
        #expect(!NegativeNumbers.isNegativeNumber("-v") && !NegativeNumbers.isNegativeNumber("--5") && !NegativeNumbers.isNegativeNumber("-"))
    }

    @Test("the nearest name")
    func distance() {
        #expect(Suggestion.distance("lamp", "lamps") == 1)
        #expect(Suggestion.distance("craete", "create") == 2)
        #expect(Suggestion.distance("", "run") == 3)
    }
}
