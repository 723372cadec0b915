using Sluice.Execution;

namespace Sluice.Jobs.Tests;

/// <summary>The <c>execution.speculation</c> block of a job spec: bound onto <see cref="SpeculationOptions"/>, checked with the field named.</summary>
public sealed class SpeculationSpecTests : IDisposable
{
    private readonly TempDir _dir = new();

    public SpeculationSpecTests() => File.WriteAllText(_dir["vocab.txt"], "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");

    public void Dispose() => _dir.Dispose();

    private string Spec(string execution) => $$"""
        name: t
        read: { format: text, path: {{_dir["docs/*.txt"]}} }
        stages:
          - { name: tokenize, op: bert_tokenize, vocab: {{_dir["vocab.txt"]}}, max_length: 64 }
        write: { format: parquet, path: {{_dir["out"]}} }
        execution: {{execution}}
        """;

    [Fact]
    public void Parse_SpeculationBlock_BindsOntoTheDefaults()
    {
        var spec = JobSpecParser.Parse(Spec("{ speculation: { multiplier: 4, min_s: 0.5 } }"), "job.yaml", []);
        var options = spec.Execution.ToOptions(new NodeResources(Cpus: 2, Gpus: 0, MemoryBytes: 1L << 30));
        Assert.True(options.Speculation.Enabled);
        Assert.Equal(4, options.Speculation.Multiplier);
        Assert.Equal(TimeSpan.FromSeconds(0.5), options.Speculation.Floor);
        Assert.Equal(new SpeculationOptions().MinSamples, options.Speculation.MinSamples);
    }

    [Fact]
    public void Parse_SpeculationDisabled_TurnsItOff()
    {
        var spec = JobSpecParser.Parse(Spec("{ speculation: { enabled: false } }"), "job.yaml", []);
        Assert.False(spec.Execution.ToOptions(new NodeResources(Cpus: 2, Gpus: 0, MemoryBytes: 1L << 30)).Speculation.Enabled);
    }

    [Fact]
    public void Parse_MultiplierBelowOne_IsRefusedNamingTheField()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec("{ speculation: { multiplier: 0.5, min_s: -1 } }"), "job.yaml", []));
        Assert.Contains(e.Errors, m => m.ToString().Contains("execution.speculation.multiplier", StringComparison.Ordinal) && m.ToString().Contains("give 1 or more", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.ToString().Contains("execution.speculation.min_s", StringComparison.Ordinal));
    }
}
