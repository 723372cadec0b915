using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;

namespace Sluice.Contracts;

/// <summary>
/// The processor types a node may build from a <see cref="ProcessorDescriptor"/> that arrived from elsewhere
/// (another node of a cluster, a job service). Nothing from outside is trusted: a descriptor names a type by
/// text, and only a type registered here, by code this process chose to run, is ever instantiated. An
/// unregistered name is refused before any type is loaded or any constructor runs.
/// </summary>
public sealed class ProcessorRegistry
{
    private readonly ConcurrentDictionary<string, Entry> _types = new(StringComparer.Ordinal);

    private sealed record Entry(Type Processor, Type? Options, Func<object?, IBatchProcessor> Create);

    /// <summary>The registered processor types, by assembly-qualified name.</summary>
    public IReadOnlyCollection<string> TypeNames => [.. _types.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Registers a processor with a parameterless constructor.</summary>
    public ProcessorRegistry Add<TProcessor>() where TProcessor : IBatchProcessor, new()
    {
        _types[Key(typeof(TProcessor))] = new(typeof(TProcessor), null, static _ => new TProcessor());
        return this;
    }

    /// <summary>Registers a processor whose constructor takes one <typeparamref name="TOptions"/> (an options record, sent as JSON).</summary>
    public ProcessorRegistry Add<TProcessor, TOptions>() where TProcessor : IBatchProcessor
    {
        var constructor = typeof(TProcessor).GetConstructor([typeof(TOptions)])
            ?? throw new ArgumentException($"{typeof(TProcessor).Name} has no public constructor taking {typeof(TOptions).Name}; give it one, or register it with Add<TProcessor>()");
        _types[Key(typeof(TProcessor))] = new(typeof(TProcessor), typeof(TOptions), options => (IBatchProcessor)constructor.Invoke([options]));
        return this;
    }

    /// <summary>Registers every processor of <paramref name="module"/>.</summary>
    public ProcessorRegistry Add(IProcessorModule module)
    {
        ArgumentNullException.ThrowIfNull(module);
        module.Register(this);
        return this;
    }

    public bool Contains(string typeName) => _types.ContainsKey(typeName);

    /// <summary>
    /// Builds the processor a descriptor names, when its type (and options type) is registered here; otherwise
    /// refuses, saying how to register it. The options JSON binds only to the registered options type.
    /// </summary>
    public IBatchProcessor Create(ProcessorDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        if (!_types.TryGetValue(descriptor.TypeName, out var entry))
        {
            throw new SluiceException(
                $"processor type '{Short(descriptor.TypeName)}' is not registered on this node, so it is not built; " +
                "a node builds only processor types registered with it (built-in ops, and those of an assembly given to `sluice worker --ops-assembly`)");
        }
        var optionsName = entry.Options is null ? null : Key(entry.Options);
        if (!string.Equals(optionsName, descriptor.OptionsTypeName, StringComparison.Ordinal))
        {
            throw new SluiceException(
                $"processor type '{entry.Processor.Name}' takes {(entry.Options is null ? "no options" : $"options of type {entry.Options.Name}")}, " +
                $"but {(descriptor.OptionsTypeName is null ? "none were" : $"'{Short(descriptor.OptionsTypeName)}' was")} given; run the same build on every node");
        }
        if (entry.Options is null) return entry.Create(null);
        object? options;
        try
        {
            options = JsonSerializer.Deserialize(descriptor.OptionsJson ?? "null", entry.Options);
        }
        catch (JsonException e)
        {
            throw new SluiceException($"processor {entry.Processor.Name}: its options are not valid {entry.Options.Name} JSON: {e.Message}", e);
        }
        return entry.Create(options ?? throw new SluiceException($"processor {entry.Processor.Name}: its options ({entry.Options.Name}) are missing"));
    }

    /// <summary>Registers the processors of every <see cref="IProcessorModule"/> type in <paramref name="assembly"/> (an assembly the operator named).</summary>
    public ProcessorRegistry AddModules(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        foreach (var type in assembly.GetExportedTypes())
        {
            if (type is { IsAbstract: false, IsInterface: false } && typeof(IProcessorModule).IsAssignableFrom(type) && type.GetConstructor(Type.EmptyTypes) is not null)
                Add((IProcessorModule)Activator.CreateInstance(type)!);
        }
        return this;
    }

    private static string Key(Type type) => type.AssemblyQualifiedName!;

    private static string Short(string typeName) => typeName.Split(',')[0].Trim();
}

/// <summary>Registers processor types; a class in an assembly given to a worker, so its nodes may build them.</summary>
public interface IProcessorModule
{
    void Register(ProcessorRegistry processors);
}
