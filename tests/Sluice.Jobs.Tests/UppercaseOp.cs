using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.Jobs.Tests;

/// <summary>The options of the <c>uppercase</c> test op: its defaults live here and nowhere else.</summary>
/// <param name="Column">The string column to upper-case in place.</param>
public sealed record UppercaseOptions(string Column = "text");

public sealed class UppercaseProcessor(UppercaseOptions options) : IBatchProcessor
{
    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        var source = (StringArray)batch.Column(options.Column);
        var upper = new StringArray.Builder();
        for (var i = 0; i < source.Length; i++) upper.Append(source.GetString(i)?.ToUpperInvariant());
        var index = batch.Schema.GetFieldIndex(options.Column);
        var columns = Enumerable.Range(0, batch.ColumnCount).Select(c => c == index ? upper.Build() : batch.Column(c)).ToList();
        return ValueTask.FromResult(new RecordBatch(batch.Schema, columns, batch.Length));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>The op's factory: the processor and options it runs, and the column it reads (checked against the input before the job starts).</summary>
public sealed class UppercaseOp() : ProcessorOp<UppercaseProcessor, UppercaseOptions>("uppercase", ResourceRequest.None, "upper-cases a string column")
{
    protected override IReadOnlyList<string> InputColumns(UppercaseOptions options) => [options.Column];

    protected override IReadOnlyList<string>? OutputColumns(UppercaseOptions options) => [];
}
