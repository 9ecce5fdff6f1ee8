package dev.lakehouse.jobs;

import picocli.CommandLine.Command;

/** {@code lakehouse bench ...}: the project's benchmarks, each against a baseline in the same run. */
@Command(name = "bench", description = "Benchmarks, each measured against a baseline in the same run.",
    subcommands = {PipelineBenchmark.class, LogBenchmark.class, ExtractBenchmark.class, IncrementalBenchmark.class, Scd2Benchmark.class})
public final class BenchCommand {
}
