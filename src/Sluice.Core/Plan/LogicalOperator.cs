using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.Plan;

/// <summary>A node of the lazy logical plan. Immutable: rules return new plans.</summary>
public abstract record LogicalOperator
{
    protected LogicalOperator(LogicalOperator? input) => Input = input;

    public LogicalOperator? Input { get; }

    public abstract string Describe();

    public IEnumerable<LogicalOperator> Chain()
    {
        var stack = new Stack<LogicalOperator>();
        for (var op = this; op is not null; op = op.Input) stack.Push(op);
        return stack;
    }
}

/// <summary>How a read splits into blocks.</summary>
public sealed record ReadOptions : IValidatedOptions
{
    /// <summary>
    /// Rows per block; null = chosen from the job's shape when it is planned: blocks of a few MiB of input,
    /// and enough of them that every actor of the widest pool downstream gets several (never below that
    /// pool's batch size). A fixed 1,024 left 8 actors with 3 blocks of a 2,822-line file; the plan
    /// (<c>explain</c>) says what was chosen and why. A value given here always wins.
    /// </summary>
    public int? BlockRows { get; init; }

    /// <summary>Read tasks in flight at once; null = the node's cores.</summary>
    public int? Parallelism { get; init; }

    public IEnumerable<OptionError> Problems()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (BlockRows is < 1) yield return new(nameof(BlockRows), BlockRows.Value.ToString(inv), "give 1 or more rows per block, or leave it out to size blocks from the job");
        if (Parallelism is < 1) yield return new(nameof(Parallelism), Parallelism.Value.ToString(inv), "give 1 or more read tasks at once, or leave it out for the node's cores");
    }
}

public sealed record ReadOperator(Datasource Source, ReadOptions Options) : LogicalOperator((LogicalOperator?)null)
{
    public override string Describe() => $"Read[{Source.Name}]";
}

/// <summary>What a MapBatches stage runs: a stateless function (task pool) or a processor (actor pool).</summary>
public abstract record BatchTransform
{
    private BatchTransform() { }

    public sealed record Function(Func<RecordBatch, RecordBatch> Apply) : BatchTransform;

    /// <summary>A processor type; the factory makes one instance per actor. With a descriptor, any node can make one.</summary>
    public sealed record Processor(Func<IBatchProcessor> Create, string TypeName, ProcessorDescriptor? Descriptor = null) : BatchTransform;
}

public sealed record MapBatchesOperator(LogicalOperator Input, string Name, BatchTransform Transform, MapBatchesOptions Options)
    : LogicalOperator(Input)
{
    public override string Describe() => Transform is BatchTransform.Processor p ? $"MapBatches[{Name}: {p.TypeName}]" : $"MapBatches[{Name}]";
}
