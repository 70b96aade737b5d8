import Foundation

/// A JSON value as read for schema validation. A number is a number whether written `3` or
/// `3.0` (JSON Schema's `integer` is a number whose value is whole); `true` is never a number.
enum JSONValue: Equatable, Sendable, Decodable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// Any number, whole or not.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, by member name.
    case object([String: JSONValue])

    /// Reads any JSON value; JSONDecoder refuses a number as Bool and a Bool as a number.
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses JSON text.
    static func parse(_ data: Data) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// Parses JSON text given as a string.
    static func parse(_ text: String) throws -> JSONValue {
        try parse(Data(text.utf8))
    }

    /// The member `key` of an object; nil for a missing member or a value that is no object.
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    /// The text of a string value.
    var string: String? {
        guard case .string(let text) = self else { return nil }
        return text
    }

    /// The value of a number.
    var number: Double? {
        guard case .number(let value) = self else { return nil }
        return value
    }

    /// The members of an object.
    var members: [String: JSONValue]? {
        guard case .object(let members) = self else { return nil }
        return members
    }

    /// The elements of an array.
    var elements: [JSONValue]? {
        guard case .array(let elements) = self else { return nil }
        return elements
    }

    /// Whether the value has JSON Schema type `type` (`integer`: a whole number).
    func hasType(_ type: String) -> Bool {
        switch (type, self) {
        case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string), ("array", .array), ("object", .object):
            true
        case ("integer", .number(let value)):
            value.isFinite && value.rounded(.towardZero) == value
        default:
            false
        }
    }

    /// The value's JSON Schema type, with the value when it is a scalar, for messages:
    /// `integer 7`, `string "x"`, `object`.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool(let flag): "boolean \(flag)"
        case .number: (hasType("integer") ? "integer " : "number ") + SchemaValidator.show(self)
        case .string: "string " + SchemaValidator.show(self)
        case .array: "array"
        case .object: "object"
        }
    }
}

/// Validates JSON values against the subset of JSON Schema (2020-12, as OpenAPI 3.1 uses it)
/// that the operator API's document uses: `$ref` (a JSON pointer into the document), `type`
/// (one name or an array of names, `integer` included), `properties`, `required`, `items`,
/// `enum`, `oneOf` (exactly one branch), `format: date-time` (RFC 3339), and
/// `additionalProperties` as a boolean; `description` is an annotation. Any other keyword, or
/// any other format, is reported as a problem rather than ignored, so the document cannot
/// gain a constraint this validator silently skips.
struct SchemaValidator {
    /// The document `$ref`s point into.
    let document: JSONValue
    /// Whether an object may carry properties its schema does not list (without
    /// `additionalProperties`). False checks that a schema lists everything the server sends.
    var allowsUndocumentedProperties: Bool

    /// The keywords this validator understands.
    static let keywords: Set<String> = [
        "$ref", "type", "properties", "required", "items", "enum", "oneOf", "format", "additionalProperties", "description",
    ]

    /// A validator resolving references in `document`.
    init(document: JSONValue, allowsUndocumentedProperties: Bool = true) {
        self.document = document
        self.allowsUndocumentedProperties = allowsUndocumentedProperties
    }

    /// Every way `value` breaks `schema`, each as `path: problem`; empty when it conforms.
    func problems(_ value: JSONValue, _ schema: JSONValue, at path: String = "$") -> [String] {
        if case .bool(let allowed) = schema {
            return allowed ? [] : ["\(path): no value is allowed here"]
        }
        guard let keywords = schema.members else { return ["\(path): the schema is not an object"] }
        var found = keywords.keys.filter { !Self.keywords.contains($0) }.sorted().map {
            "\(path): the schema uses \($0), which this validator does not check"
        }
        if let reference = keywords["$ref"] {
            guard let pointer = reference.string, let target = resolve(pointer) else {
                return found + ["\(path): $ref \(reference) does not resolve in the document"]
            }
            found += problems(value, target, at: path)
        }
        if let type = keywords["type"] {
            let names = type.elements?.compactMap(\.string) ?? type.string.map { [$0] } ?? []
            if names.isEmpty { found.append("\(path): the schema's type is neither a name nor an array of names") }
            if !names.isEmpty, !names.contains(where: value.hasType) {
                // A value of the wrong type: its members or elements would only add noise.
                return found + ["\(path): expected \(names.joined(separator: " or ")), found \(value.typeName)"]
            }
        }
        if let allowed = keywords["enum"] {
            if !(allowed.elements ?? []).contains(value) {
                found.append("\(path): \(Self.show(value)) is not one of \((allowed.elements ?? []).map(Self.show).joined(separator: ", "))")
            }
        }
        if let format = keywords["format"]?.string {
            if format != "date-time" {
                found.append("\(path): the schema uses format \(format), which this validator does not check")
            } else if let text = value.string, !Self.isDateTime(text) {
                found.append("\(path): \(Self.show(value)) is not an RFC 3339 date-time")
            }
        }
        if let branches = keywords["oneOf"] {
            let results = (branches.elements ?? []).map { problems(value, $0, at: path) }
            let matching = results.filter(\.isEmpty).count
            if matching != 1 {
                let reasons = results.enumerated().map { "branch \($0.offset + 1): \($0.element.joined(separator: "; "))" }
                found.append(
                    "\(path): matches \(matching) of the \(results.count) oneOf branches, not exactly one"
                        + (matching == 0 ? " (\(reasons.joined(separator: " | ")))" : ""))
            }
        }
        if let members = value.members {
            let properties = keywords["properties"]?.members ?? [:]
            for name in keywords["required"]?.elements?.compactMap(\.string) ?? [] where members[name] == nil {
                found.append("\(path): the required property \(name) is missing")
            }
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                if let property = properties[name] {
                    found += problems(member, property, at: "\(path).\(name)")
                } else if let additional = keywords["additionalProperties"] {
                    found += problems(member, additional, at: "\(path).\(name)")
                } else if keywords["properties"] != nil, !allowsUndocumentedProperties {
                    found.append("\(path): the property \(name) is not in the schema")
                }
            }
        }
        if let elements = value.elements, let items = keywords["items"] {
            for (index, element) in elements.enumerated() {
                found += problems(element, items, at: "\(path)[\(index)]")
            }
        }
        return found
    }

    /// The value a local reference (`#/components/schemas/LampView`) points at.
    func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#") else { return nil }
        var value = document
        for token in reference.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = value[key] else { return nil }
            value = next
        }
        return value
    }

    /// Whether `text` is an RFC 3339 date-time: `2026-11-29T21:04:05.120Z` or with an offset.
    static func isDateTime(_ text: String) -> Bool {
        let digits = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= digits.count else { return nil }
            var value = 0
            for byte in digits[start..<start + count] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func byte(_ index: Int) -> UInt8? { index < digits.count ? digits[index] : nil }
        guard number(0, 4) != nil, byte(4) == UInt8(ascii: "-"), let month = number(5, 2), byte(7) == UInt8(ascii: "-"),
            let day = number(8, 2), byte(10) == UInt8(ascii: "T") || byte(10) == UInt8(ascii: "t"), let hour = number(11, 2),
            byte(13) == UInt8(ascii: ":"), let minute = number(14, 2), byte(16) == UInt8(ascii: ":"), let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return false }
        var index = 19
        if byte(index) == UInt8(ascii: ".") {
            index += 1
            let start = index
            while let next = byte(index), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) { index += 1 }
            guard index > start else { return false }
        }
        switch byte(index) {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            return index + 1 == digits.count
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let offsetHours = number(index + 1, 2), byte(index + 3) == UInt8(ascii: ":"), let offsetMinutes = number(index + 4, 2)
            else { return false }
            return offsetHours < 24 && offsetMinutes < 60 && index + 6 == digits.count
        default:
            return false
        }
    }

    /// A value as short JSON-like text, for messages.
    static func show(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): "\"\(text)\""
        case .number(let number): number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let flag): String(flag)
        case .null: "null"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// What the OpenAPI document says a response may be, checked against real responses: the
/// status must be documented for the path and method, the content type among the documented
/// ones (none for a body-less answer), and the body must match the schema.
struct OpenAPIContract {
    /// The whole document.
    let document: JSONValue
    /// Validates response bodies; undocumented properties are problems (a schema must list
    /// everything the server sends).
    let responses: SchemaValidator
    /// Validates request bodies; unknown properties are allowed (the server ignores them).
    let requests: SchemaValidator

    /// The contract of the document `data`.
    init(document data: Data) throws {
        document = try JSONValue.parse(data)
        responses = SchemaValidator(document: document, allowsUndocumentedProperties: false)
        requests = SchemaValidator(document: document, allowsUndocumentedProperties: true)
    }

    /// The document as generated into the source tree (`Sources/Controller/Resources`).
    static func sourceDocument() throws -> Data {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try Data(contentsOf: root.appendingPathComponent("Sources/Controller/Resources/openapi.json"))
    }

    /// Every documented operation, as `GET /api/v1/lamps/{id}`.
    var operations: Set<String> {
        var operations: Set<String> = []
        for (path, item) in document["paths"]?.members ?? [:] {
            for method in (item.members ?? [:]).keys where Self.methods.contains(method) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    /// The HTTP methods an OpenAPI path item may hold.
    static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// The documented path (`/api/v1/lamps/{id}`) a concrete one (`/api/v1/lamps/lamp-0001?x=1`)
    /// falls under; literal segments win over parameters.
    func template(for path: String) -> String? {
        let segments = (path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path).split(separator: "/")
        var best: (template: String, literals: Int)?
        for template in (document["paths"]?.members ?? [:]).keys {
            let parts = template.split(separator: "/")
            guard parts.count == segments.count else { continue }
            var literals = 0
            var matches = true
            for (part, segment) in zip(parts, segments) {
                if part.hasPrefix("{") && part.hasSuffix("}") { continue }
                if part == segment { literals += 1 } else { matches = false }
            }
            if matches, literals > best?.literals ?? -1 { best = (template, literals) }
        }
        return best?.template
    }

    /// The operation object of `method` on the documented path.
    func operation(_ method: String, _ template: String) -> JSONValue? {
        document["paths"]?[template]?[method.lowercased()]
    }

    /// A response object, through its `$ref` when it has one.
    func resolved(_ value: JSONValue) -> JSONValue? {
        guard let reference = value["$ref"]?.string else { return value }
        return responses.resolve(reference)
    }

    /// Every way a response breaks the document; empty when it conforms.
    func problems(method: String, path: String, status: Int, contentType: String?, body: Data) -> [String] {
        guard let template = template(for: path) else { return ["\(method) \(path) is not a documented path"] }
        let name = "\(method) \(template)"
        guard let operation = operation(method, template) else { return ["\(name) is not a documented operation"] }
        let documented = operation["responses"]?.members ?? [:]
        guard let entry = documented[String(status)] ?? documented["default"], let response = resolved(entry) else {
            return ["\(name) answered \(status), which is not documented (documented: \(documented.keys.sorted().joined(separator: ", ")))"]
        }
        let content = response["content"]?.members ?? [:]
        if content.isEmpty {
            return body.allSatisfy({ [0x20, 0x0A, 0x0D, 0x09].contains($0) })
                ? [] : ["\(name) \(status) is documented without a body, but has \(body.count) bytes"]
        }
        let mediaType = (contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard let media = content[mediaType] else {
            return ["\(name) \(status) has content type \(contentType ?? "none"), documented: \(content.keys.sorted().joined(separator: ", "))"]
        }
        guard let schema = media["schema"] else { return [] }
        let value: JSONValue
        if mediaType.hasSuffix("json") {
            do {
                value = try JSONValue.parse(body)
            } catch {
                return ["\(name) \(status): the body is not JSON: \(error)"]
            }
        } else {
            value = .string(String(decoding: body, as: UTF8.self))
        }
        return responses.problems(value, schema).map { "\(name) \(status): \($0)" }
    }

    /// Every way a request body breaks the operation's documented request body.
    func requestProblems(method: String, path: String, body: Data) -> [String] {
        guard let template = template(for: path), let operation = operation(method, template) else {
            return ["\(method) \(path) is not a documented operation"]
        }
        guard let schema = operation["requestBody"]?["content"]?["application/json"]?["schema"] else {
            return ["\(method) \(template) documents no JSON request body"]
        }
        do {
            return requests.problems(try JSONValue.parse(body), schema).map { "request to \(method) \(template): \($0)" }
        } catch {
            return ["request to \(method) \(template): not JSON: \(error)"]
        }
    }
}
