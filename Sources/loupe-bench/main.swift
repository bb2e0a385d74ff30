// loupe-bench: Loupe against its peers (numpy, JAX, ...), one line per case. See BenchCommand.swift.
import Foundation

signal(SIGPIPE, SIG_IGN)  // a peer that dies must not take the bench down when we write to it
BenchCommand.main()
