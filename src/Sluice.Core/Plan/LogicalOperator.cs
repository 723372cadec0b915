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
    /// <summary>Rows per block. 1,024 keeps a text block ~100 KB and an embedding block ~1.5 MB, so a
    /// bounded queue holds many blocks and a model stage sees work in steady slices.</summary>
    public int BlockRows { get; init; } = 1024;

    /// <summary>Read tasks in flight at once; null = the node's cores.</summary>
    public int? Parallelism { get; init; }

    public IEnumerable<OptionError> Problems()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (BlockRows < 1) yield return new(nameof(BlockRows), BlockRows.ToString(inv), "give 1 or more rows per block");
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
