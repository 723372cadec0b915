namespace Sluice.Jobs.Tests;

/// <summary>Job files given as URLs, refused before any request is made (the fetches themselves: Sluice.IO.Tests, Sluice.Cli.Tests).</summary>
public sealed class ObjectFileBindingTests : IDisposable
{
    private readonly TempDir _dir = new();

    public ObjectFileBindingTests() => File.WriteAllText(_dir["model.onnx"], "not read by the parser");

    public void Dispose() => _dir.Dispose();

    private string Spec(string vocab) => $$"""
        read: { format: text, path: {{_dir["docs/*.txt"]}} }
        stages:
          - { name: tokenize, op: bert_tokenize, vocab: "{{vocab}}" }
          - { name: embed, op: onnx, model: {{_dir["model.onnx"]}} }
        write: { format: parquet, path: {{_dir["out"]}} }
        """;

    [Theory]
    [InlineData("http://example.com/vocab.txt", "plain http is accepted only from this machine")]
    [InlineData("gs://bucket/vocab.txt", "'gs://' is not supported")]
    [InlineData("s3://bucket/", "give s3://bucket/key")]
    public void Parse_RefusedUrl_OneErrorNamingTheFieldItsLineAndWhy(string vocab, string why)
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(vocab), "job.yaml", []));

        var error = Assert.Single(e.Errors);
        Assert.Equal(("stages[0].vocab", 3), (error.Field, error.At?.Line));
        Assert.Contains(why, error.Accepted, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UrlInAFieldThatIsNotAJobFile_StaysText()
    {
        var yaml = Spec(_dir["model.onnx"]).Replace("- { name: embed,", "- { name: \"s3://not/a/file\", op: onnx, model: " + _dir["model.onnx"] + " }\n  - { name: embed2,", StringComparison.Ordinal);

        var spec = JobSpecParser.Parse(yaml, "job.yaml", []);

        Assert.Equal("s3://not/a/file", spec.Stages[1].Name);
        Assert.Empty(spec.ObjectFiles);
    }
}
