using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Plan;
using Sluice.InMemory;

namespace Sluice;

/// <summary>
/// A lazy, immutable dataset: each call returns a new dataset with one more logical operator.
/// Nothing runs until a consuming call (<c>WriteAsync</c>, <c>TakeAsync</c>, <c>CountAsync</c>,
/// <c>IterateBatchesAsync</c> in Sluice.Execution).
/// </summary>
public sealed class Dataset
{
    private Dataset(LogicalOperator plan) => Plan = plan;

    /// <summary>The logical plan's last operator.</summary>
    public LogicalOperator Plan { get; }

    public static Dataset Read(Datasource source, ReadOptions? options = null) =>
        new(new ReadOperator(source, options ?? new ReadOptions()));

    /// <summary>In-memory rows (column name → value), split into read tasks.</summary>
    public static Dataset FromItems(IEnumerable<IReadOnlyDictionary<string, object?>> items, ReadOptions? options = null, int tasks = 4) =>
        Read(new ItemsDatasource(items.ToList(), tasks), options);

    /// <summary>The integers 0..count-1 in column <c>id</c>.</summary>
    public static Dataset Range(long count, ReadOptions? options = null, int tasks = 4) =>
        Read(new RangeDatasource(count, tasks), options);

    /// <summary>A stateless batch function, run on a task pool.</summary>
    public Dataset MapBatches(Func<RecordBatch, RecordBatch> function, MapBatchesOptions? options = null)
    {
        options ??= new MapBatchesOptions();
        return With(new MapBatchesOperator(Plan, options.Name ?? "map_batches", new BatchTransform.Function(function), options));
    }

    /// <summary>A processor type, run on an actor pool: one instance per actor, initialized once.</summary>
    public Dataset MapBatches<TProcessor>(MapBatchesOptions? options = null)
        where TProcessor : IBatchProcessor, new() =>
        MapProcessor(static () => new TProcessor(), typeof(TProcessor).Name, ProcessorDescriptor.Of<TProcessor>(), options);

    /// <summary>A processor type whose constructor takes <paramref name="processorOptions"/>, on an actor pool; runs on any node.</summary>
    public Dataset MapBatches<TProcessor, TOptions>(TOptions processorOptions, MapBatchesOptions? options = null)
        where TProcessor : IBatchProcessor =>
        MapProcessor(() => (IBatchProcessor)Activator.CreateInstance(typeof(TProcessor), processorOptions)!, typeof(TProcessor).Name,
            ProcessorDescriptor.Of<TProcessor, TOptions>(processorOptions), options);

    /// <summary>A processor made by a factory (one call per actor), run on an actor pool.</summary>
    public Dataset MapBatches(Func<IBatchProcessor> factory, string typeName, MapBatchesOptions? options = null) =>
        MapProcessor(factory, typeName, null, options);

    private Dataset MapProcessor(Func<IBatchProcessor> factory, string typeName, ProcessorDescriptor? descriptor, MapBatchesOptions? options)
    {
        options ??= new MapBatchesOptions();
        return With(new MapBatchesOperator(Plan, options.Name ?? typeName, new BatchTransform.Processor(factory, typeName, descriptor), options));
    }

    /// <summary>A function of one row (copies values: for conveniences, not hot paths).</summary>
    public Dataset Map(Func<Dictionary<string, object?>, Dictionary<string, object?>> function, string name = "map") =>
        MapBatches(batch =>
        {
            var rows = Rows.FromBatch(batch).Select(function).ToList<IReadOnlyDictionary<string, object?>>();
            return Rows.ToBatch(rows);
        }, new MapBatchesOptions { Name = name });

    /// <summary>Keeps the rows the predicate accepts.</summary>
    public Dataset Filter(Func<Dictionary<string, object?>, bool> predicate, string name = "filter") =>
        MapBatches(batch =>
        {
            var rows = Rows.FromBatch(batch);
            var keep = new bool[rows.Count];
            for (var i = 0; i < keep.Length; i++) keep[i] = predicate(rows[i]);
            return ArrowBatches.Filter(batch, keep);
        }, new MapBatchesOptions { Name = name });

    public override string ToString() => string.Join(" -> ", Plan.Chain().Select(o => o.Describe()));

    private static Dataset With(LogicalOperator op) => new(op);
}
