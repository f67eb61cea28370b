import Foundation
import Sodium
import Wire

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func hex(_ text: String) -> [UInt8] { try! Hex.decode(text) }

func keyPair(seedByte: UInt8) -> SigningKeyPair {
    try! SigningKeyPair(seed: SecureBytes([UInt8](repeating: seedByte, count: 32)))
}

/// Reads `protocol/vectors/<name>` as JSON.
func loadVectors(_ name: String) throws -> [String: Any] {
    let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("protocol/vectors/\(name)"))
    return try JSONSerialization.jsonObject(with: data) as! [String: Any]
}

/// Writes `protocol/vectors/<name>` when POLDER_WRITE_VECTORS=1 (to regenerate after a deliberate
/// protocol change); otherwise does nothing.
func writeVectorsIfAsked(_ name: String, _ object: [String: Any]) throws {
    guard ProcessInfo.processInfo.environment["POLDER_WRITE_VECTORS"] == "1" else { return }
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    try data.write(to: repositoryRoot.appendingPathComponent("protocol/vectors/\(name)"))
}
