using System.Text.Json;
using Apache.Arrow;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.IO;
using Sluice.Plan;

namespace Sluice.Cluster.Tests;

/// <summary>
/// Dead letters on a real cluster (redis-server, two worker processes): a simulated model stage throws on specific rows;
/// the workers bisect the failing batches, the dead letters travel with their blocks' refs to the driver's sink.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class DeadLetterClusterTests
{
    private const int Lines = 2_000;

    [Fact]
    public async Task SimulateFailOnRows_DeadLetter_EveryOtherRowWrittenOnceAndExactlyThoseRowsInErrors()
    {
        await using var cluster = await OwnCluster.StartAsync(2, "--cpus", "1", "--sim-gpus", "1", "--memory", "2GiB");
        var dir = SimulatedJob.TempDir("dead-letters");
        try
        {
            var input = Path.Combine(dir, "in.txt");
            await File.WriteAllLinesAsync(input, Enumerable.Range(0, Lines).Select(i => $"r{i}"));
            // Lines r137, r237, ..., r1937: 19 rows spread over many blocks and batches.
            var failing = Enumerable.Range(0, Lines).Where(i => i >= 100 && i % 100 == 37).ToList();
            var output = Path.Combine(dir, "out");
            var job = Dataset.Read(Sources.Text(input), new ReadOptions { BlockRows = 100 })
                .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: 0, PerRowMs: 0.2, FailOn: @"^r\d+37$"),
                    new MapBatchesOptions { Name = "model", Resources = new ResourceRequest(Gpus: 1), Pool = new PoolSize(2, 2), BatchSize = 16, OnError = OnError.DeadLetter });

            var stats = await job.WriteAsync(Sinks.Parquet(output), new ExecutionOptions { Runtime = cluster.Runtime, WriteMode = WriteMode.Overwrite });

            var written = new List<string>();
            await foreach (var batch in Read.Parquet(output).IterateBatchesAsync(new ExecutionOptions()))
                for (var r = 0; r < batch.Length; r++) written.Add(((StringArray)batch.Column("text")).GetString(r));
            var expected = Enumerable.Range(0, Lines).Except(failing).Select(i => $"r{i}").Order(StringComparer.Ordinal);
            Assert.Equal(expected, written.Order(StringComparer.Ordinal));

            var letters = Directory.GetFiles(Path.Combine(output, "_errors")).SelectMany(File.ReadAllLines).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            // Exactly the failing rows, each once.
            Assert.Equal(failing, letters.Select(l => int.Parse(l.GetProperty("input").GetProperty("text").GetString()![1..], System.Globalization.CultureInfo.InvariantCulture)).Order());
            Assert.All(letters, l =>
            {
                var text = l.GetProperty("input").GetProperty("text").GetString()!;
                // The text source numbers rows by line, from 1.
                Assert.Equal(int.Parse(text[1..], System.Globalization.CultureInfo.InvariantCulture) + 1, l.GetProperty("row").GetInt64());
                Assert.Equal("model", l.GetProperty("stage").GetString());
                Assert.Contains("matches fail_on", l.GetProperty("error").GetString(), StringComparison.Ordinal);
            });
            Assert.Equal(failing.Count, stats.Operators.Single(o => o.Name == "model").ErroredRows);
            Assert.True(File.Exists(Path.Combine(output, "_SUCCESS")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Embedded (no cluster: what is checked is the sink and the executor): a job stopped after some parts committed, then
    /// resumed, ends with every other row once and each dead letter once — the committed parts' dead letters kept, the
    /// rest written with their blocks by the resumed run.
    /// </summary>
    [Fact]
    public async Task StoppedThenResumed_DeadLetter_EachRowAndEachDeadLetterExactlyOnce()
    {
        var dir = SimulatedJob.TempDir("dead-letters-resume");
        try
        {
            var input = Path.Combine(dir, "in.txt");
            const int lines = 3_000;
            await File.WriteAllLinesAsync(input, Enumerable.Range(0, lines).Select(i => $"r{i}"));
            var failing = Enumerable.Range(0, lines).Where(i => i >= 100 && i % 100 == 37).ToList();
            var output = Path.Combine(dir, "out");
            // 3,000 rows x 2 ms on 2 simulated devices: about 3 s, stopped after a third of the rows went through the model.
            var job = Dataset.Read(Sources.Text(input), new ReadOptions { BlockRows = 100 })
                .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: 0, PerRowMs: 2, FailOn: @"^r\d+37$"),
                    new MapBatchesOptions { Name = "model", Resources = new ResourceRequest(Gpus: 1), Pool = new PoolSize(2, 2), BatchSize = 16, OnError = OnError.DeadLetter });
            var options = new ExecutionOptions { Resources = new NodeResources(2, 0, 4L << 30).WithSimulatedGpus(2), WriteMode = WriteMode.Overwrite };
            var sinkOptions = new ParquetSinkOptions { RowsPerFile = 300 };

            using (var stop = new CancellationTokenSource())
            {
                var first = JobExecution.Start(job, Sinks.Parquet(output, sinkOptions), options, stop.Token);
                while (!first.Completion.IsCompleted && first.Snapshot.Operators.FirstOrDefault(o => o.Name == "model") is not { RowsOut: >= 1_000 })
                    await Task.Delay(20);
                await stop.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.Completion);
            }
            Assert.False(File.Exists(Path.Combine(output, "_SUCCESS")));
            var before = Directory.GetFiles(Path.Combine(output, "_errors")).SelectMany(File.ReadAllLines).Count();
            Assert.InRange(before, 1, failing.Count - 1);

            await Sluice.Execution.DatasetExecution.WriteAsync(job, Sinks.Parquet(output, sinkOptions), options with { WriteMode = WriteMode.Resume });

            var written = new List<string>();
            await foreach (var batch in Read.Parquet(output).IterateBatchesAsync(new ExecutionOptions()))
                for (var r = 0; r < batch.Length; r++) written.Add(((StringArray)batch.Column("text")).GetString(r));
            Assert.Equal(Enumerable.Range(0, lines).Except(failing).Select(i => $"r{i}").Order(StringComparer.Ordinal), written.Order(StringComparer.Ordinal));
            var letters = Directory.GetFiles(Path.Combine(output, "_errors")).SelectMany(File.ReadAllLines).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal(failing, letters.Select(l => int.Parse(l.GetProperty("input").GetProperty("text").GetString()![1..], System.Globalization.CultureInfo.InvariantCulture)).Order());
            Assert.True(File.Exists(Path.Combine(output, "_SUCCESS")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
