using System.Reflection;
using Sluice.Contracts;

namespace Sluice.Jobs;

/// <summary>Registers ops and formats; a class in an assembly given to the CLI or a worker (<c>--ops-assembly</c>).</summary>
public interface IJobModule
{
    void Register(JobRegistry registry);
}

/// <summary>
/// The ops and read/write formats a spec may name, and the processor types they run. Adding an op is one
/// registration: <c>registry.AddOp&lt;MyProcessor, MyOptions&gt;("my_op")</c>, or <c>registry.Add(new MyOp())</c>
/// for an op with a factory of its own. Nothing else is edited: the spec binds the op's fields to its options record.
/// </summary>
public sealed class JobRegistry
{
    private readonly Dictionary<string, StageOp> _ops = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ReadFormat> _reads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WriteFormat> _writes = new(StringComparer.Ordinal);

    /// <summary>The processor types the registered ops run (and others registered directly): what a worker may build.</summary>
    public ProcessorRegistry Processors { get; } = new();

    public IReadOnlyDictionary<string, StageOp> Ops => _ops;

    public IReadOnlyDictionary<string, ReadFormat> ReadFormats => _reads;

    public IReadOnlyDictionary<string, WriteFormat> WriteFormats => _writes;

    /// <summary>A registry with the built-in ops and formats.</summary>
    public static JobRegistry CreateDefault() => new JobRegistry().Add(new BuiltIns());

    public JobRegistry Add(StageOp op)
    {
        ArgumentNullException.ThrowIfNull(op);
        if (!_ops.TryAdd(op.Name, op)) throw new ArgumentException($"an op named '{op.Name}' is already registered; give the new op another name", nameof(op));
        op.RegisterProcessors(Processors);
        return this;
    }

    /// <summary>Registers a processor type as an op: its constructor takes <typeparamref name="TOptions"/>, whose fields the spec's stage sets.</summary>
    public JobRegistry AddOp<TProcessor, TOptions>(string name, ResourceRequest? defaultResources = null)
        where TProcessor : IBatchProcessor
        where TOptions : class =>
        Add(new ProcessorOp<TProcessor, TOptions>(name, defaultResources));

    public JobRegistry Add(ReadFormat format)
    {
        ArgumentNullException.ThrowIfNull(format);
        if (!_reads.TryAdd(format.Name, format)) throw new ArgumentException($"a read format named '{format.Name}' is already registered", nameof(format));
        return this;
    }

    public JobRegistry Add(WriteFormat format)
    {
        ArgumentNullException.ThrowIfNull(format);
        if (!_writes.TryAdd(format.Name, format)) throw new ArgumentException($"a write format named '{format.Name}' is already registered", nameof(format));
        return this;
    }

    public JobRegistry Add(IJobModule module)
    {
        ArgumentNullException.ThrowIfNull(module);
        module.Register(this);
        return this;
    }

    /// <summary>
    /// Registers the <see cref="IJobModule"/>s and <see cref="IProcessorModule"/>s of an assembly the operator named
    /// (<c>--ops-assembly</c>): the same assembly on the driver and on every worker gives both the same ops.
    /// </summary>
    public JobRegistry AddModules(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        foreach (var type in assembly.GetExportedTypes())
        {
            if (type.IsAbstract || type.IsInterface || type.GetConstructor(Type.EmptyTypes) is null) continue;
            if (typeof(IJobModule).IsAssignableFrom(type)) Add((IJobModule)Activator.CreateInstance(type)!);
        }
        Processors.AddModules(assembly);
        return this;
    }
}
