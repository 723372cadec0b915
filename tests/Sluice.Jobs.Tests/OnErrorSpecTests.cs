using Sluice.Contracts;

namespace Sluice.Jobs.Tests;

/// <summary>A stage's on_error, max_errored_rows and max_errored_fraction, bound from the spec, and the refusals naming the field.</summary>
public class OnErrorSpecTests : IDisposable
{
    private readonly TempDir _dir = new();

    public OnErrorSpecTests() => File.WriteAllText(_dir["vocab.txt"], "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");

    public void Dispose() => _dir.Dispose();

    private string Spec(string fields) => $$"""
        name: t
        read: { format: text, path: {{_dir["docs/*.txt"]}} }
        stages:
          - { name: tokenize, op: bert_tokenize, vocab: {{_dir["vocab.txt"]}}, max_length: 64, {{fields}} }
        write: { format: parquet, path: {{_dir["out"]}} }
        """;

    [Fact]
    public void Parse_OnErrorDeadLetterWithLimits_BindsToTheStageOptions()
    {
        var run = JobSpecParser.Parse(Spec("on_error: dead_letter, max_errored_rows: 100, max_errored_fraction: 0.01"), "job.yaml", []).Stages[0].Run;
        Assert.Equal(OnError.DeadLetter, run.OnError);
        Assert.Equal(100, run.MaxErroredRows);
        Assert.Equal(0.01, run.MaxErroredFraction);
    }

    [Fact]
    public void Parse_NoOnError_FailsByDefault()
    {
        var run = JobSpecParser.Parse(Spec("batch_size: 8"), "job.yaml", []).Stages[0].Run;
        Assert.Equal(OnError.Fail, run.OnError);
        Assert.Null(run.MaxErroredRows);
    }

    [Fact]
    public void Parse_UnknownOnError_NamesTheFieldAndTheAcceptedValues()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec("on_error: ignore"), "job.yaml", []));
        var error = Assert.Single(e.Errors).ToString();
        Assert.Contains("stages[0].on_error", error);
        Assert.Contains("'ignore'", error);
        Assert.Contains("fail, skip, dead_letter", error);
    }

    [Theory]
    [InlineData("on_error: skip, max_errored_fraction: 2", "max_errored_fraction", "from 0 to 1")]
    [InlineData("on_error: skip, max_errored_rows: -1", "max_errored_rows", "0 or more")]
    [InlineData("max_errored_rows: 5", "on_error", "only with on_error: skip or dead_letter")]
    public void Parse_BadLimits_AreRefusedNamingTheField(string fields, string field, string accepted)
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(fields), "job.yaml", []));
        var error = Assert.Single(e.Errors).ToString();
        Assert.Contains($"stages[0].{field}", error);
        Assert.Contains(accepted, error);
    }
}
