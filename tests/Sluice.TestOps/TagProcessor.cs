using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;

namespace Sluice.TestOps;

/// <summary>What <see cref="TagProcessor"/> writes into its column.</summary>
public sealed record TagOptions(string Tag);

/// <summary>Adds a string column <c>tag</c> (the options' tag) and <c>pid</c> (the process that ran the batch); rows pass through.</summary>
public sealed class TagProcessor(TagOptions options) : IBatchProcessor
{
    private static readonly Field TagField = new("tag", StringType.Default, nullable: false);
    private static readonly Field PidField = new("pid", Int32Type.Default, nullable: false);

    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var tags = new StringArray.Builder();
        var pids = new Int32Array.Builder().Reserve(batch.Length);
        for (var i = 0; i < batch.Length; i++)
        {
            tags.Append(options.Tag);
            pids.Append(Environment.ProcessId);
        }
        var tagged = ArrowBatches.WithColumn(batch, TagField, tags.Build());
        return ValueTask.FromResult(ArrowBatches.WithColumn(tagged, PidField, pids.Build()));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Registers <see cref="TagProcessor"/>: what a worker given this assembly may build.</summary>
public sealed class TestOpsModule : IProcessorModule
{
    public void Register(ProcessorRegistry processors)
    {
        ArgumentNullException.ThrowIfNull(processors);
        processors.Add<TagProcessor, TagOptions>();
    }
}

/// <summary>Registers <see cref="TagProcessor"/> as the op <c>tag</c>: a job spec names it, the driver and workers given this assembly know it.</summary>
public sealed class TestJobModule : Sluice.Jobs.IJobModule
{
    public void Register(Sluice.Jobs.JobRegistry registry) => registry?.AddOp<TagProcessor, TagOptions>("tag");
}
