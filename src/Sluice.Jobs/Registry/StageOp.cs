using Sluice.Contracts;
using Sluice.Jobs.Binding;
using YamlDotNet.RepresentationModel;

namespace Sluice.Jobs;

/// <summary>A stage as written in a spec, before its op binds it.</summary>
/// <param name="Name">The stage's name (its <c>name</c>, else its op's).</param>
/// <param name="Path">Its path in the spec, e.g. <c>stages[1]</c>.</param>
/// <param name="Node">Its YAML mapping.</param>
/// <param name="Run">How it runs (pool, resources, batch size), bound from the stage's shared fields.</param>
public sealed record StageInput(string Name, string Path, YamlMappingNode Node, MapBatchesOptions Run);

/// <summary>A bound stage: how it becomes a dataset stage, and what it reads and makes (for checks before the job starts).</summary>
/// <param name="Append">Appends the stage (one or more operators) to a dataset.</param>
/// <param name="InputColumns">Columns the stage reads from its input.</param>
/// <param name="OutputColumns">Columns its output holds beyond those it keeps from its input; null when unknown (checks stop there).</param>
/// <param name="KeepsInputColumns">Whether the input's other columns pass through.</param>
public sealed record StagePlan(Func<Dataset, Dataset> Append, IReadOnlyList<string> InputColumns, IReadOnlyList<string>? OutputColumns, bool KeepsInputColumns = true);

/// <summary>
/// An op a job stage can name. Its fields are those of its options record (bound generically, defaults in the
/// record) plus the shared stage fields (name, op, batch_size, pool, resources, max_concurrency, concurrency).
/// </summary>
public abstract class StageOp
{
    /// <summary>What the spec's <c>op:</c> says.</summary>
    public abstract string Name { get; }

    /// <summary>The options record the op's fields bind to.</summary>
    public abstract Type OptionsType { get; }

    /// <summary>What each actor holds when the stage gives no resources.</summary>
    public virtual ResourceRequest DefaultResources => ResourceRequest.OneCpu;

    /// <summary>Fields the op reads itself rather than binding them to its options record.</summary>
    public virtual IReadOnlyCollection<string> ExtraFields => [];

    /// <summary>What one of <see cref="ExtraFields"/> accepts, for the reference.</summary>
    public virtual string DescribeExtraField(string field) => "";

    /// <summary>One line for the reference.</summary>
    public virtual string Summary => "";

    /// <summary>Registers the processor types the op runs, so that worker nodes may build them.</summary>
    public abstract void RegisterProcessors(ProcessorRegistry processors);

    /// <summary>Binds the stage; null when a field is wrong (the errors are in <paramref name="context"/>).</summary>
    public abstract StagePlan? Bind(StageInput stage, SpecContext context);
}

/// <summary>An op whose fields bind to <typeparamref name="TOptions"/>; a subclass says how the options become a stage.</summary>
public abstract class StageOp<TOptions> : StageOp where TOptions : class
{
    public override Type OptionsType => typeof(TOptions);

    public override StagePlan? Bind(StageInput stage, SpecContext context)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentNullException.ThrowIfNull(context);
        var options = OptionsBinder.Bind<TOptions>(context, stage.Node, stage.Path, handledElsewhere: [.. StageFields.Shared, .. ExtraFields]);
        return options is null ? null : Plan(options, stage, context);
    }

    /// <summary>How the bound options become a stage (checks beyond the record's own validation go here).</summary>
    protected abstract StagePlan? Plan(TOptions options, StageInput stage, SpecContext context);
}

/// <summary>
/// The op of a processor type whose constructor takes an options record: what a user registers from C#
/// (<see cref="JobRegistry.AddOp{TProcessor, TOptions}"/>). It runs on an actor pool; workers may build it.
/// </summary>
public class ProcessorOp<TProcessor, TOptions>(string name, ResourceRequest? defaultResources = null, string summary = "") : StageOp<TOptions>
    where TProcessor : IBatchProcessor
    where TOptions : class
{
    public override string Name => name;

    public override ResourceRequest DefaultResources => defaultResources ?? base.DefaultResources;

    public override string Summary => summary;

    public override void RegisterProcessors(ProcessorRegistry processors) => ArgumentValidation.NotNull(processors).Add<TProcessor, TOptions>();

    protected override StagePlan? Plan(TOptions options, StageInput stage, SpecContext context) =>
        new(ds => ds.MapBatches<TProcessor, TOptions>(options, ArgumentValidation.NotNull(stage).Run), InputColumns(options), OutputColumns(options));

    /// <summary>Columns the processor reads; checked against the input's schema before the job starts.</summary>
    protected virtual IReadOnlyList<string> InputColumns(TOptions options) => [];

    /// <summary>Columns the processor adds; null when unknown.</summary>
    protected virtual IReadOnlyList<string>? OutputColumns(TOptions options) => null;
}

/// <summary>The fields every stage has, whatever its op: they bind to <see cref="MapBatchesOptions"/>.</summary>
public static class StageFields
{
    /// <summary>The op's name; not an options field.</summary>
    public const string Op = "op";

    public static IReadOnlyList<string> Shared { get; } = [Op, .. OptionField.Of(typeof(MapBatchesOptions)).Select(f => f.Name)];
}
