import Foundation

/// Two network namespaces joined by a veth pair, so that a test can partition brokers and heal
/// them again by taking the link down and up (this kernel has no `netem`). Needs root; everything
/// is removed by `remove`.
final class NetworkNamespaces: @unchecked Sendable {
    let a: String
    let b: String
    let addressA: String
    let addressB: String
    private let interfaceA: String
    private let interfaceB: String

    init() throws {
        let tag = String(UInt32.random(in: 0x1000...0xFFFF), radix: 16)
        let subnet = Int.random(in: 1...250)
        a = "polder-\(tag)-a"
        b = "polder-\(tag)-b"
        interfaceA = "pv\(tag)a"
        interfaceB = "pv\(tag)b"
        addressA = "10.213.\(subnet).1"
        addressB = "10.213.\(subnet).2"
        let steps: [[String]] = [
            ["netns", "add", a], ["netns", "add", b],
            ["link", "add", interfaceA, "type", "veth", "peer", "name", interfaceB],
            ["link", "set", interfaceA, "netns", a], ["link", "set", interfaceB, "netns", b],
            ["-n", a, "addr", "add", "\(addressA)/24", "dev", interfaceA], ["-n", b, "addr", "add", "\(addressB)/24", "dev", interfaceB],
            ["-n", a, "link", "set", interfaceA, "up"], ["-n", b, "link", "set", interfaceB, "up"],
            ["-n", a, "link", "set", "lo", "up"], ["-n", b, "link", "set", "lo", "up"],
        ]
        for step in steps where runTool("/usr/sbin/ip", step) != 0 {
            remove()
            throw ProcessError(description: "cannot set up network namespaces: 'ip \(step.joined(separator: " "))' failed")
        }
    }

    /// Cuts the link between the two namespaces: nothing crosses until `heal`.
    func partition() throws {
        try setLink("down")
    }

    func heal() throws {
        try setLink("up")
    }

    private func setLink(_ state: String) throws {
        for (namespace, interface) in [(a, interfaceA), (b, interfaceB)] {
            guard runTool("/usr/sbin/ip", ["-n", namespace, "link", "set", interface, state]) == 0 else {
                throw ProcessError(description: "cannot set \(interface) \(state) in \(namespace)")
            }
        }
    }

    /// Deletes both namespaces (and the veth pair with them); processes in them must be gone.
    func remove() {
        runTool("/usr/sbin/ip", ["netns", "del", a])
        runTool("/usr/sbin/ip", ["netns", "del", b])
    }

    deinit { remove() }
}
