using System.Diagnostics;
using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Inference;
using Sluice.IO;
using Sluice.Plan;

namespace Sluice.Bench;

/// <summary>(b) The whole job through the library: Parquet → tokenize → embed → Parquet.</summary>
internal static class SluiceJob
{
    public sealed record Result(
        double RowsPerSecond, TimeSpan Elapsed,
        TimeSpan? FirstEmbedOutput, double? RowsPerSecondAfterFirstOutput,
        TimeSpan? AllActorsReady, double? RowsPerSecondAfterActorsReady,
        long RowsWritten, Dictionary<string, float[]> Embeddings, IReadOnlyList<OperatorSnapshotLine> Operators, CpuUse Cpu);

    public sealed record OperatorSnapshotLine(string Name, long RowsOut, TimeSpan Busy, int ActorsStarted);

    public static async Task<Result> RunAsync(BenchData data, string inputFile, string outputDir, int batchSize, int actors, Trace? trace = null, DispatchPolicy? dispatch = null, int? maxConcurrency = null, int? blockRows = BenchData.BlockRows)
    {
        var dataset = Read.Parquet(inputFile, new ReadOptions { BlockRows = blockRows })
            .MapBatches(
                () => new BertTokenizeProcessor(new BertTokenizeOptions(data.Model.Vocab, "text", BenchData.MaxLength)),
                nameof(BertTokenizeProcessor),
                new MapBatchesOptions { Name = "tokenize", Pool = new PoolSize(1, 1), Resources = ResourceRequest.None })
            .MapBatches(
                () => Wrap(new OnnxProcessor(new OnnxOptions(data.Model.Model) { Pooling = Pooling.Mean }), trace),
                nameof(OnnxProcessor),
                new MapBatchesOptions { Name = "embed", BatchSize = batchSize, Pool = new PoolSize(1, actors, actors), Resources = ResourceRequest.OneCpu, MaxConcurrency = maxConcurrency ?? new MapBatchesOptions().MaxConcurrency });

        var cpu = Cpu.Start();
        var clock = Stopwatch.StartNew();
        var job = JobExecution.Start(dataset, Sinks.Parquet(outputDir), new ExecutionOptions { WriteMode = WriteMode.Overwrite, Dispatch = dispatch ?? new ExecutionOptions().Dispatch });

        // Watch the embed operator: when all its actors are up and when its first block comes out.
        TimeSpan? firstOutput = null, actorsReady = null;
        long rowsAtFirstOutput = 0, rowsAtActorsReady = 0;
        while (!job.Completion.IsCompleted)
        {
            var embed = job.Snapshot.Operators.FirstOrDefault(o => o.Name == "embed");
            if (embed is not null)
            {
                if (actorsReady is null && embed.ActorsReady >= actors) (actorsReady, rowsAtActorsReady) = (clock.Elapsed, embed.RowsOut);
                if (firstOutput is null && embed.RowsOut > 0) (firstOutput, rowsAtFirstOutput) = (clock.Elapsed, embed.RowsOut);
            }
            await Task.WhenAny(job.Completion, Task.Delay(5));
        }
        var final = await job.Completion;
        clock.Stop();
        var cpuUse = cpu.Stop();
        var elapsed = clock.Elapsed;

        var written = 0L;
        var embeddings = new Dictionary<string, float[]>(StringComparer.Ordinal);
        await foreach (var batch in Read.Parquet(outputDir).IterateBatchesAsync())
        {
            written += batch.Length;
            var text = (StringArray)batch.Column("text");
            var vectors = (FixedSizeListArray)batch.Column("embedding");
            var size = ((Apache.Arrow.Types.FixedSizeListType)vectors.Data.DataType).ListSize;
            var elements = TensorColumns.Elements<float>(vectors);
            for (var i = 0; i < batch.Length; i++)
                embeddings.TryAdd(text.GetString(i)!, elements.Slice(i * size, size).ToArray());
        }

        trace?.Events.Add(new Trace.Event(-1, "end", 0, trace.Now, 0));
        double? Rate(TimeSpan? from, long rowsBefore) =>
            from is { } f && elapsed > f ? (data.Rows - rowsBefore) / (elapsed - f).TotalSeconds : null;
        return new Result(
            data.Rows / elapsed.TotalSeconds, elapsed,
            firstOutput, Rate(firstOutput, rowsAtFirstOutput),
            actorsReady, Rate(actorsReady, rowsAtActorsReady),
            written, embeddings,
            final.Operators.Select(o => new OperatorSnapshotLine(o.Name, o.RowsOut, o.BusyTime, o.ActorsStarted)).ToList(), cpuUse);
    }

    private static IBatchProcessor Wrap(IBatchProcessor processor, Trace? trace) =>
        trace is null ? processor : new TracingProcessor(processor, trace);
}
