import Foundation

/// Runs `count` items on `jobs` worker threads and hands the results, in item order, to a consumer
/// on the calling thread, with a bounded amount of work in flight.
///
/// An item may start only when (a) fewer than `window` items are started but not yet consumed and
/// (b) the bytes in flight plus its `cost` stay within `budget`, or nothing is in flight (so an item
/// larger than the budget still runs, alone). Bytes in flight: the `cost` of every item being worked
/// on, plus the `resultCost` of every finished item not yet consumed (its cost is exchanged for its
/// result's when it finishes, so small results of later items may pile up behind a large item
/// still in work without holding its input's budget). Each worker owns a state made by `makeWorker` (e.g. a codec that is
/// not thread-safe). On the first error (of a worker or the consumer) no further item starts, the
/// items in progress finish, and the error of the lowest failed item (or the consumer's) is thrown.
public enum OrderedParallelMap {
    /// See the type's documentation.
    public static func run<Worker, Result>(
        count: Int, jobs: Int, window: Int, budget: Int,
        cost: @escaping @Sendable (Int) -> Int,
        resultCost: @escaping @Sendable (Result) -> Int = { _ in 0 },
        makeWorker: @escaping @Sendable () throws -> Worker,
        work: @escaping @Sendable (inout Worker, Int) throws -> Result,
        consume: (Int, Result) throws -> Void
    ) throws {
        guard count > 0 else { return }
        let state = State<Result>()
        let jobs = max(1, min(jobs, count))
        let window = max(window, 1)
        state.active = jobs
        for _ in 0..<jobs {
            let thread = Thread {
                defer {
                    state.lock.lock(); state.active -= 1; state.lock.broadcast(); state.lock.unlock()
                }
                var worker: Worker
                do { worker = try makeWorker() } catch {
                    state.lock.lock(); state.fail(index: -1, error); state.lock.unlock()
                    return
                }
                while true {
                    state.lock.lock()
                    var index: Int? = nil
                    while !state.failed && state.next < count {
                        let c = cost(state.next)
                        if state.next - state.consumed < window && (state.inFlight == 0 || state.inFlight + c <= budget) {
                            index = state.next
                            state.next += 1
                            state.inFlight += c
                            break
                        }
                        state.lock.wait()
                    }
                    state.lock.unlock()
                    guard let i = index else { return }
                    let result: Swift.Result<Result, Error>
                    do { result = .success(try work(&worker, i)) } catch { result = .failure(error) }
                    let held: Int
                    if case .success(let r) = result { held = resultCost(r) } else { held = 0 }
                    state.lock.lock()
                    state.inFlight += held - cost(i)
                    switch result {
                    case .success(let r): state.results[i] = (r, held)
                    case .failure(let e): state.fail(index: i, e)
                    }
                    state.lock.broadcast()
                    state.lock.unlock()
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }

        var consumerError: Error?
        while state.consumedIndex < count {
            state.lock.lock()
            while state.results[state.consumedIndex] == nil && !state.failed { state.lock.wait() }
            if state.failed { state.lock.unlock(); break }
            let i = state.consumedIndex
            let (r, held) = state.results.removeValue(forKey: i)!
            state.lock.unlock()
            do { try consume(i, r) } catch {
                consumerError = error
                state.lock.lock(); state.failed = true; state.lock.broadcast(); state.lock.unlock()
                break
            }
            state.lock.lock()
            state.consumed += 1
            state.consumedIndex += 1
            state.inFlight -= held
            state.lock.broadcast()
            state.lock.unlock()
        }
        state.lock.lock()
        while state.active > 0 { state.lock.wait() }
        let error = state.error
        state.results.removeAll()
        state.lock.unlock()
        if let consumerError { throw consumerError }
        if let error { throw error }
    }

    private final class State<Result>: @unchecked Sendable {
        let lock = NSCondition()
        var next = 0
        var consumed = 0
        var consumedIndex = 0
        var inFlight = 0
        var active = 0
        var results: [Int: (Result, Int)] = [:]
        var failed = false
        var error: Error?
        var errorIndex = Int.max

        /// Records a failure (lock held); the lowest index wins (-1: a worker could not start).
        func fail(index: Int, _ e: Error) {
            failed = true
            if index < errorIndex { errorIndex = index; error = e }
        }
    }
}
