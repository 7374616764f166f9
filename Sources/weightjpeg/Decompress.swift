import ArgumentParser
import Foundation
import WeightJPEG

struct Decompress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a .wjpg file to safetensors (original names, order, shapes, dtypes and metadata).")

    @Argument(help: ArgumentHelp("The .wjpg file.", valueName: "model.wjpg"))
    var input: String
    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the .safetensors file.", valueName: "file"))
    var output: String

    func run() throws {
        let container = try Container.read(path: input)
        let file = try ModelCodec.decompress(container, path: input)
        try file.write(to: output)
        print("wrote \(output): \(file.tensors.count) tensors")
    }
}
