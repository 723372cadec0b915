using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Planning;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>The fingerprint an output records: what determines its rows, named as the job spec names it.</summary>
public sealed class OutputFingerprintTests
{
    /// <summary>A processor with an options record, so the fingerprint can see the options.</summary>
    internal sealed record ScaleOptions(int Factor);

    internal sealed class ScaleProcessor(ScaleOptions options) : IBatchProcessor
    {
        public int Factor => options.Factor;

        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(batch);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Records what the executor hands the sink when it opens.</summary>
    private sealed class RecordingSink : Datasink
    {
        public OutputFingerprint? Fingerprint { get; private set; }

        public override string Name => "recording";

        public override string Format => "recorded";

        public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken) => ValueTask.FromResult(SinkState.Empty);

        public override ValueTask<SinkState> OpenAsync(WriteMode mode, OutputFingerprint? fingerprint, DatasourceInputs? inputs, CancellationToken cancellationToken)
        {
            Fingerprint = fingerprint;
            return ValueTask.FromResult(SinkState.Empty);
        }

        public override ValueTask WriteAsync(Block block, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public override ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private static OutputFingerprint Of(Dataset dataset, DatasourceInputs? inputs = null) =>
        OutputFingerprints.Of(dataset.Plan, inputs, TaskIds(dataset), ((SourceSpec)JobExecution.PlanOf(dataset, null).Operators[0]).Block.Rows, new RecordingSink());

    private static List<string> TaskIds(Dataset dataset) =>
        ((ReadOperator)dataset.Plan.Chain().First()).Source.PlanAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult().Select(t => t.Id).ToList();

    private static Dataset Job(int blockRows = 1024, int factor = 2, int? batchSize = 16, int tasks = 4) =>
        Dataset.Range(100, new ReadOptions { BlockRows = blockRows }, tasks)
            .MapBatches<ScaleProcessor, ScaleOptions>(new ScaleOptions(factor), new MapBatchesOptions { Name = "scale", BatchSize = batchSize });

    [Fact]
    public void Of_Job_RecordsSourceBlockRowsStageAndFormat()
    {
        var fields = Of(Job()).Fields;

        Assert.Equal("range(100)", fields["read.source"]);
        Assert.Equal("1024", fields["read.block_rows"]);
        Assert.Equal("scale", fields["stages[0].name"]);
        Assert.Contains(nameof(ScaleProcessor), fields["stages[0].op"], StringComparison.Ordinal);
        Assert.Equal("{\"Factor\":2}", fields["stages[0].options"]);
        Assert.Equal("16", fields["stages[0].batch_size"]);
        Assert.Equal("recorded", fields["write.format"]);
    }

    [Fact]
    public void DifferencesFrom_OtherBlockRows_NamesTheField()
    {
        var differences = Of(Job(blockRows: 100)).DifferencesFrom(Of(Job()));

        Assert.Equal(["read.block_rows was 1024, now 100"], differences);
    }

    [Fact]
    public void DifferencesFrom_OtherProcessorOptionsAndBatchSize_NamesBoth()
    {
        var differences = Of(Job(factor: 3, batchSize: null)).DifferencesFrom(Of(Job()));

        Assert.Equal(["stages[0].batch_size was 16, now whole block", "stages[0].options was {\"Factor\":2}, now {\"Factor\":3}"], differences);
    }

    [Fact]
    public void DifferencesFrom_SourceSplitIntoOtherReadTasks_NamesReadTasks()
    {
        var differences = Of(Job(tasks: 5)).DifferencesFrom(Of(Job()));

        Assert.StartsWith("read.tasks was 4 read tasks", Assert.Single(differences), StringComparison.Ordinal);
    }

    [Fact]
    public void DifferencesFrom_OtherSourceOptions_NamesReadOptions()
    {
        var differences = Of(Job(), new DatasourceInputs([], [], "skip_empty true")).DifferencesFrom(Of(Job(), new DatasourceInputs([], [], "skip_empty false")));

        Assert.Equal(["read.options was skip_empty false, now skip_empty true"], differences);
    }

    [Fact]
    public void DifferencesFrom_ExtraStage_NamesIt()
    {
        var differences = Of(Job().MapBatches(b => b, new MapBatchesOptions { Name = "extra" })).DifferencesFrom(Of(Job()));

        Assert.Contains("stages[1].name is new (extra)", differences);
    }

    [Fact]
    public void DifferencesFrom_InputAddedRemovedOrRewritten_NamesEachFile()
    {
        var t = new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);
        var before = new DatasourceInputs([new InputFile("/d/a.txt", 10, t), new InputFile("/d/b.txt", 10, t)], []);
        var after = new DatasourceInputs([new InputFile("/d/0.txt", 5, t), new InputFile("/d/a.txt", 12, t.AddMinutes(1))], []);

        var differences = Of(Job(), after).DifferencesFrom(Of(Job(), before));

        Assert.Equal(3, differences.Count);
        Assert.StartsWith("input '/d/0.txt' is new", differences[0], StringComparison.Ordinal);
        Assert.StartsWith("input '/d/a.txt' was 10 bytes", differences[1], StringComparison.Ordinal);
        Assert.StartsWith("input '/d/b.txt' is gone", differences[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_AnySink_OpenedWithThePlansFingerprint()
    {
        var sink = new RecordingSink();

        await Job().WriteAsync(sink, new ExecutionOptions { Resources = new NodeResources(Cpus: 2, Gpus: 0, MemoryBytes: 1L << 30) });

        Assert.Equal(Of(Job()).Fields, sink.Fingerprint!.Fields);
    }
}
