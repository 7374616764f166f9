import CWeightJPEG
import Foundation
import WeightJPEG

/// A failure of the C interface itself (a bad argument, a missing tensor, a short buffer), with the
/// `WJ_ERROR_*` code it is reported as.
struct CInterfaceError: Error, CustomStringConvertible {
    let code: Int32
    let description: String

    static func argument(_ message: String) -> CInterfaceError { CInterfaceError(code: WJ_ERROR_ARGUMENT, description: message) }
}

/// How the C interface turns Swift errors into a status code and a message: every exported function
/// runs its body through `CStatus.run`, so no Swift error crosses the C boundary.
enum CStatus {
    /// Runs `body`; on a throw returns the error's code and writes its message into `error`.
    static func run(_ error: UnsafeMutablePointer<wj_error>?, _ body: () throws -> Void) -> Int32 {
        do {
            try body()
            if let error { set(error, code: WJ_OK, message: "") }
            return WJ_OK
        } catch let failure {
            let code = self.code(of: failure)
            if let error { set(error, code: code, message: String(describing: failure)) }
            return code
        }
    }

    /// The `WJ_ERROR_*` code of a library error.
    static func code(of error: Error) -> Int32 {
        switch error {
        case let e as CInterfaceError: e.code
        case is FileInput.ReadError, is AtomicFile.WriteError, is OutputError: WJ_ERROR_IO
        case is ContainerError, is SafetensorsError: WJ_ERROR_FORMAT
        case is CodecError, is ModelFileError: WJ_ERROR_CODING
        default: WJ_ERROR_INTERNAL
        }
    }

    /// Writes `code` and `message` (UTF-8, cut at a character boundary to fit, NUL-terminated).
    static func set(_ error: UnsafeMutablePointer<wj_error>, code: Int32, message: String) {
        error.pointee.code = code
        withUnsafeMutableBytes(of: &error.pointee.message) { out in
            var utf8 = Array(message.utf8.prefix(out.count - 1))
            while !utf8.isEmpty && String(validating: utf8, as: UTF8.self) == nil { utf8.removeLast() }
            out.copyBytes(from: utf8)
            out[utf8.count] = 0
        }
    }

    /// A Swift string from a C string, or an argument error naming `what` when it is NULL or not UTF-8.
    static func string(_ pointer: UnsafePointer<CChar>?, _ what: String) throws -> String {
        guard let pointer else { throw CInterfaceError.argument("\(what) is NULL") }
        guard let s = String(validatingCString: pointer) else { throw CInterfaceError.argument("\(what) is not UTF-8") }
        return s
    }
}
