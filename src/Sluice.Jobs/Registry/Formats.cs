using Sluice.Contracts;
using Sluice.Jobs.Binding;
using YamlDotNet.RepresentationModel;

namespace Sluice.Jobs;

/// <summary>A format with no options of its own.</summary>
public sealed record NoOptions;

/// <summary>A read format a spec's <c>read.format</c> can name: its options record and how it becomes a datasource.</summary>
public abstract class ReadFormat
{
    public abstract string Name { get; }

    public abstract Type OptionsType { get; }

    public virtual string Summary => "";

    /// <summary>Whether the format reads files (<c>read.path</c> is required) or makes its rows (<c>range</c>).</summary>
    public bool TakesPath { get; init; } = true;

    /// <summary>Binds the format's own fields of the <c>read</c> mapping; null when a field is wrong.</summary>
    public abstract Datasource? Bind(string path, YamlMappingNode node, SpecContext context);
}

/// <summary>A read format whose fields bind to <typeparamref name="TOptions"/>.</summary>
public sealed class ReadFormat<TOptions>(string name, Func<string, TOptions, Datasource> create, string summary = "") : ReadFormat where TOptions : class
{
    public override string Name => name;

    public override Type OptionsType => typeof(TOptions);

    public override string Summary => summary;

    public override Datasource? Bind(string path, YamlMappingNode node, SpecContext context)
    {
        var options = OptionsBinder.Bind<TOptions>(context, node, "read", handledElsewhere: ReadSpec.SharedFields);
        if (options is null) return null;
        // A URL is read object by object, each through this format's reader for a local file.
        return Sluice.IO.ObjectStorage.DatasetPaths.IsUrl(path)
            ? Sluice.IO.Sources.Remote(path, name, local => create(local, options), context.ObjectFileOptions)
            : create(path, options);
    }
}

/// <summary>A write format a spec's <c>write.format</c> can name: how it becomes a datasink, and its options record.</summary>
public sealed class WriteFormat
{
    private readonly Func<string, object, Datasink> _create;
    private readonly Func<YamlMappingNode, SpecContext, object?> _bind;
    private readonly object _defaults;

    /// <summary>A format with no fields of its own.</summary>
    public WriteFormat(string name, Func<string, Datasink> create, string summary = "")
        : this(name, typeof(NoOptions), (path, _) => create(path), Binder<NoOptions>(), new NoOptions(), summary)
    {
        ArgumentNullException.ThrowIfNull(create);
    }

    private WriteFormat(string name, Type optionsType, Func<string, object, Datasink> create, Func<YamlMappingNode, SpecContext, object?> bind, object defaults, string summary)
    {
        Name = name;
        OptionsType = optionsType;
        Summary = summary;
        _create = create;
        _bind = bind;
        _defaults = defaults;
    }

    /// <summary>A format whose fields (beside format, path and mode) bind to <typeparamref name="TOptions"/>.</summary>
    public static WriteFormat Of<TOptions>(string name, Func<string, TOptions, Datasink> create, string summary = "") where TOptions : class, new()
    {
        ArgumentNullException.ThrowIfNull(create);
        return new WriteFormat(name, typeof(TOptions), (path, options) => create(path, (TOptions)options), Binder<TOptions>(), new TOptions(), summary);
    }

    public string Name { get; }

    public string Summary { get; }

    /// <summary>The record the format's own fields bind to (<see cref="NoOptions"/> when it has none).</summary>
    public Type OptionsType { get; }

    /// <summary>A sink with the format's default options.</summary>
    public Datasink Create(string path) => _create(path, _defaults);

    internal Datasink Create(string path, object options) => _create(path, options);

    /// <summary>Binds the format's own fields of the <c>write</c> mapping; null when a field is wrong.</summary>
    internal object? Bind(YamlMappingNode node, SpecContext context) => _bind(node, context);

    private static Func<YamlMappingNode, SpecContext, object?> Binder<TOptions>() where TOptions : class =>
        (node, context) => OptionsBinder.Bind<TOptions>(context, node, "write", handledElsewhere: WriteSpec.SharedFields);
}
