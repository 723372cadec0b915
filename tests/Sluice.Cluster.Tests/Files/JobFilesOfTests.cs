using System.Text.Json;
using System.Text.Json.Serialization;
using Sluice.Contracts;
using Sluice.Inference;

namespace Sluice.Cluster.Tests.Files;

/// <summary><see cref="ProcessorDescriptor.JobFiles"/>: the options marked <see cref="JobFileAttribute"/>, by the name their JSON carries.</summary>
public sealed class JobFilesOfTests
{
    /// <summary>Options of a processor that opens two files, one under another JSON name, one optional.</summary>
    public sealed record TwoFileOptions(
        [property: JobFile, JsonPropertyName("weights")] string Model,
        [property: JobFile] string? Labels = null,
        string Column = "text");

    [Fact]
    public void Of_OptionsWithRenamedAndUnsetFiles_JsonNamesOfTheFilesGiven()
    {
        var descriptor = ProcessorDescriptor.Of<NoopProcessor, TwoFileOptions>(new TwoFileOptions("models/m.onnx"));

        Assert.Equal(new Dictionary<string, string> { ["weights"] = "models/m.onnx" }, descriptor.JobFiles);
        Assert.Equal("models/m.onnx", JsonDocument.Parse(descriptor.OptionsJson!).RootElement.GetProperty("weights").GetString());
    }

    [Fact]
    public void Of_OnnxAndTokenizerOptions_ModelAndVocab()
    {
        var onnx = ProcessorDescriptor.Of<OnnxProcessor, OnnxOptions>(new OnnxOptions("m.onnx"));
        var tokenize = ProcessorDescriptor.Of<BertTokenizeProcessor, BertTokenizeOptions>(new BertTokenizeOptions("vocab.txt"));

        Assert.Equal(new Dictionary<string, string> { ["Model"] = "m.onnx" }, onnx.JobFiles);
        Assert.Equal(new Dictionary<string, string> { ["Vocab"] = "vocab.txt" }, tokenize.JobFiles);
    }

    [Fact]
    public void Equals_SameOptionsTwice_EqualWithTheirFiles()
    {
        var a = ProcessorDescriptor.Of<OnnxProcessor, OnnxOptions>(new OnnxOptions("m.onnx"));
        var b = ProcessorDescriptor.Of<OnnxProcessor, OnnxOptions>(new OnnxOptions("m.onnx"));

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, a with { JobFiles = new Dictionary<string, string>() });
    }

    [Fact]
    public void Of_NoOptions_NoFiles() => Assert.Empty(ProcessorDescriptor.Of<NoopProcessor>().JobFiles);

    public sealed class NoopProcessor : IBatchProcessor
    {
        public NoopProcessor()
        {
        }

        public NoopProcessor(TwoFileOptions options) => _ = options;

        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<Apache.Arrow.RecordBatch> ProcessAsync(Apache.Arrow.RecordBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(batch);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
