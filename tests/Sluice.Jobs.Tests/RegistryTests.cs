using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Jobs.Binding;

namespace Sluice.Jobs.Tests;

/// <summary>A user's op, as a user writes it: an options record and a processor taking it.</summary>
/// <param name="Column">The column to write the tag into.</param>
/// <param name="Tag">The text every row gets.</param>
public sealed record TagOptions(string Tag, string Column = "tag");

public sealed class TagProcessor(TagOptions options) : IBatchProcessor
{
    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        var tags = new StringArray.Builder();
        for (var i = 0; i < batch.Length; i++) tags.Append(options.Tag);
        return ValueTask.FromResult(ArrowBatches.WithColumn(batch, new Field(options.Column, StringType.Default, false), tags.Build()));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

public class RegistryTests
{
    private const string TagSpec = """
        read: { format: range, count: 10 }
        stages:
          - { name: tag, op: tag, tag: hello, pool: { min: 1, max: 1 }, resources: { cpus: 0.5 } }
        write: { format: jsonl, path: unused }
        execution: { cpus: 2 }
        """;

    [Fact]
    public async Task AddOp_ProcessorAndOptionsRegisteredFromCode_RunsFromYamlWithTheRecordsDefaults()
    {
        var registry = JobRegistry.CreateDefault().AddOp<TagProcessor, TagOptions>("tag");

        var spec = JobSpecParser.Parse(TagSpec, "tag.yaml", new SpecOptions { Registry = registry });
        var rows = await spec.Dataset().TakeAsync(100, spec.Options());

        Assert.Equal(10, rows.Count);
        // `column` was not given: the record's default ("tag") holds, stated nowhere else.
        Assert.All(rows, r => Assert.Equal("hello", r["tag"]));
        Assert.Contains(typeof(TagProcessor).AssemblyQualifiedName!, registry.Processors.TypeNames);
    }

    [Fact]
    public void Parse_OpNotRegistered_IsRefusedListingTheRegisteredOps()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(TagSpec, "tag.yaml", []));
        var error = Assert.Single(e.Errors);
        Assert.Equal("stages[0].op", error.Field);
        Assert.Equal("tag", error.Value);
        Assert.Contains("bert_tokenize, onnx, image_preprocess, simulate", error.Accepted);
        Assert.Equal(3, error.At!.Line);
    }

    [Fact]
    public void Parse_RegisteredOpWithAnUnknownField_NamesTheYamlFieldAndTheSetArgument()
    {
        var registry = JobRegistry.CreateDefault().AddOp<TagProcessor, TagOptions>("tag");
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(TagSpec, "tag.yaml",
            new SpecOptions { Registry = registry, Overrides = ["stages.tag.colour=red"] }));
        var error = Assert.Single(e.Errors);
        Assert.Equal("stages[0].colour", error.Field);
        Assert.Equal(new SpecLocation("--set stages.tag.colour=red", null), error.At);
        Assert.Contains("column, concurrency", error.Accepted, StringComparison.Ordinal);
        Assert.EndsWith("resources, tag", error.Accepted, StringComparison.Ordinal);
        Assert.DoesNotContain("TagOptions", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Column", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_TwoOpsOfOneName_IsRefused()
    {
        var registry = JobRegistry.CreateDefault();
        var e = Assert.Throws<ArgumentException>(() => registry.AddOp<TagProcessor, TagOptions>("simulate"));
        Assert.Contains("'simulate' is already registered", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Processors_OfTheDefaultRegistry_BuildOnlyRegisteredTypes()
    {
        var processors = JobRegistry.CreateDefault().Processors;
        var simulate = ProcessorDescriptor.Of<Execution.Simulation.SimulateProcessor, Execution.Simulation.SimulateOptions>(new(FixedMs: 1));
        Assert.NotNull(processors.Create(simulate));
        var tag = ProcessorDescriptor.Of<TagProcessor, TagOptions>(new TagOptions("x"));
        var e = Assert.Throws<SluiceException>(() => processors.Create(tag));
        Assert.Contains("is not registered on this node", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OptionField_Defaults_AreReadFromTheOptionsRecords()
    {
        var fields = OptionField.Of(typeof(Inference.BertTokenizeOptions)).ToDictionary(f => f.Name);
        Assert.True(fields["vocab"].Required);
        Assert.Equal(128, fields["max_length"].Default);
        Assert.Equal("text", fields["column"].Default);
        var onnx = OptionField.Of(typeof(Inference.OnnxOptions)).ToDictionary(f => f.Name);
        Assert.Equal("embedding", onnx["output_column"].Default);
        Assert.Contains("threads", onnx.Keys);
        Assert.Contains("provider", onnx.Keys);
    }
}
