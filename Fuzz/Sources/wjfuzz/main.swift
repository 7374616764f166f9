import CFuzzDriver
import Foundation
import FuzzTargets

// `wjfuzz TARGET [libFuzzer options and corpus directories]`: the first argument picks the harness,
// the rest go to libFuzzer unchanged.
nonisolated(unsafe) var selected: FuzzTarget = .container

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { [UInt8](UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selected.run(bytes)
    return 0
}

var arguments = CommandLine.arguments
if arguments.count == 3, arguments[1] == "seed" {
    // `wjfuzz seed DIR`: writes the seed corpora (scripts/make-fuzz-corpus).
    do { try FuzzSeeds.write(to: arguments[2]) } catch {
        FileHandle.standardError.write(Data("wjfuzz seed: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}
// The target comes from WJFUZZ_TARGET (what scripts/fuzz uses: libFuzzer's -jobs/-fork children
// re-run this binary with the same arguments) or from the first argument.
if let name = ProcessInfo.processInfo.environment["WJFUZZ_TARGET"], let target = FuzzTarget(rawValue: name) {
    selected = target
} else if arguments.count >= 2, let target = FuzzTarget(rawValue: arguments[1]) {
    selected = target
    arguments.remove(at: 1)
} else {
    FileHandle.standardError.write(Data("usage: [WJFUZZ_TARGET=container|jpeg|safetensors|idx|image] wjfuzz [TARGET] [libFuzzer options] [corpus dirs] | wjfuzz seed DIR\n".utf8))
    exit(2)
}
var argc = Int32(arguments.count)
var cStrings: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
let status = cStrings.withUnsafeMutableBufferPointer { buffer -> Int32 in
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in testOneInput(data, size) }
}
exit(status)
