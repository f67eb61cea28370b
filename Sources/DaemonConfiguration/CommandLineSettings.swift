/// Reads setting options from the command line: `--flag VALUE` or `--flag=VALUE`.
enum CommandLineSettings {
    static func parse(_ arguments: [String]) throws(ConfigurationError) -> [(setting: Setting, value: ConfigurationValue)] {
        var entries: [(setting: Setting, value: ConfigurationValue)] = []
        var problems: [ConfigurationError.Problem] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                problems.append(.init(place: "command line", key: nil, message: "unexpected argument '\(argument)'"))
                continue
            }
            var name = String(argument.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let setting = Setting.withFlag(name) else {
                problems.append(.init(place: "command line", key: "--\(name)", message: "unknown option; see polderd --help"))
                if value == nil, index < arguments.count, !arguments[index].hasPrefix("--") { index += 1 }
                continue
            }
            if value == nil {
                guard index < arguments.count else {
                    problems.append(.init(place: "command line", key: "--\(name)", message: "needs a value (\(setting.valueName))"))
                    continue
                }
                value = arguments[index]
                index += 1
            }
            entries.append((setting, .commandLine(value!)))
        }
        guard problems.isEmpty else { throw ConfigurationError(problems) }
        return entries
    }
}
