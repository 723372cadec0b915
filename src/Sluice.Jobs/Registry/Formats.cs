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
        return options is null ? null : create(path, options);
    }
}

/// <summary>A write format a spec's <c>write.format</c> can name.</summary>
public sealed class WriteFormat(string name, Func<string, Datasink> create, string summary = "")
{
    public string Name => name;

    public string Summary => summary;

    public Datasink Create(string path) => create(path);
}
