using Sluice.Cli.Jobs;
using Sluice.Execution;

namespace Sluice.Cli.Tests;

public class JobSpecParserTests : IDisposable
{
    private readonly TempDir _dir = new();

    public JobSpecParserTests()
    {
        File.WriteAllText(_dir["vocab.txt"], "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");
        File.WriteAllText(_dir["model.onnx"], "not read by the parser");
    }

    public void Dispose() => _dir.Dispose();

    private string Spec(string stages = "", string extra = "") => $$"""
        name: t
        read: { format: text, path: {{_dir["docs/*.txt"]}} }
        stages:
          - { name: tokenize, op: bert_tokenize, vocab: {{_dir["vocab.txt"]}}, max_length: 64 }
          - name: embed
            op: onnx
            model: {{_dir["model.onnx"]}}
            pooling: mean
            batch_size: 16
            pool: { min: 1, max: 2 }
            resources: { cpus: 1 }
        {{stages}}
        write: { format: parquet, path: {{_dir["out"]}} }
        {{extra}}
        """;

    [Fact]
    public void Parse_ValidSpec_BuildsStagesWithPoolsAndResources()
    {
        var (spec, build) = JobSpecParser.Parse(Spec(), "job.yaml", []);
        Assert.Equal(["tokenize", "embed"], spec.Stages.Select(s => s.Name));
        var embed = spec.Stages[1].Options;
        Assert.Equal(16, embed.BatchSize);
        Assert.Equal(2, embed.Pool.Max);
        Assert.Equal(1, embed.Resources!.Cpus);
        Assert.Equal(0, spec.Stages[0].Options.Resources!.Cpus);
        var text = JobExecution.Explain(build(), JobBuilder.Sink(spec.Write), JobBuilder.Options(spec, null));
        Assert.Contains("embed (OnnxProcessor)  actor pool 1..2, batch 16", text);
        Assert.Contains("tokenize (BertTokenizeProcessor)", text);
    }

    [Fact]
    public void Parse_SetOverrides_ChangeFieldsByStageNameAndIndex()
    {
        var (spec, _) = JobSpecParser.Parse(Spec(), "job.yaml", ["stages.embed.batch_size=8", "stages[1].pool.max=3", "write.path=elsewhere", "execution.memory_budget=64MiB"]);
        Assert.Equal(8, spec.Stages[1].Options.BatchSize);
        Assert.Equal(3, spec.Stages[1].Options.Pool.Max);
        Assert.Equal("elsewhere", spec.Write.Path);
        Assert.Equal(64L << 20, spec.Execution.MemoryBudgetBytes);
    }

    [Fact]
    public void Parse_UnknownOp_NamesTheFieldTheValueAndTheAcceptedOps()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec("  - { name: x, op: translate }"), "job.yaml", []));
        var error = Assert.Single(e.Errors);
        Assert.Contains("job.yaml line", error);
        Assert.Contains("stages[2].op", error);
        Assert.Contains("'translate' is not accepted", error);
        Assert.Contains("bert_tokenize, onnx", error);
    }

    [Fact]
    public void Parse_MissingModelFile_NamesThePathAndHowToGetOne()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(), "job.yaml", [$"stages.embed.model={_dir["nope.onnx"]}"]));
        var error = Assert.Single(e.Errors);
        Assert.Contains("stages[1].model", error);
        Assert.Contains("nope.onnx' does not exist", error);
        Assert.Contains("sluice models export", error);
    }

    [Fact]
    public void Parse_SeveralProblems_ReportsEveryOneAtOnce()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(), "job.yaml",
            ["stages.embed.batch_size=0", "stages.embed.pool.max=abc", "stages.tokenize.colour=red", "read.format=xml", "write.mode=sometimes", "execution.memory_budget=lots"]));
        Assert.Equal(6, e.Errors.Count);
        Assert.Contains(e.Errors, m => m.Contains("stages[1].batch_size: '0' is not accepted; give a whole number >= 1"));
        Assert.Contains(e.Errors, m => m.Contains("stages[1].pool.max: 'abc' is not accepted"));
        Assert.Contains(e.Errors, m => m.Contains("stages[0].colour: unknown field; accepted here:"));
        Assert.Contains(e.Errors, m => m.Contains("read.format: 'xml' is not accepted; give one of: parquet, csv, jsonl, text"));
        Assert.Contains(e.Errors, m => m.Contains("write.mode: 'sometimes' is not accepted; give one of: error, overwrite, resume"));
        Assert.Contains(e.Errors, m => m.Contains("execution.memory_budget: 'lots' is not accepted; give a positive size"));
    }

    [Fact]
    public void Parse_PoolMaxBelowMin_IsRefused()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(), "job.yaml", ["stages.embed.pool.min=3"]));
        Assert.Contains(e.Errors, m => m.Contains("stages[1].pool: max 2 is below min 3; give max >= min"));
    }

    [Fact]
    public void Parse_SetWithUnknownStage_IsRefused()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(), "job.yaml", ["stages.nosuch.batch_size=8"]));
        Assert.Contains("no stage 'nosuch'", Assert.Single(e.Errors));
    }

    [Fact]
    public void Parse_NotYaml_SaysWhereItBroke()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse("read: { format: text\nstages: [", "bad.yaml", []));
        Assert.Contains("bad.yaml", Assert.Single(e.Errors));
        Assert.Contains("not valid YAML", e.Errors[0]);
    }

    [Fact]
    public void Parse_TensorParallel_IsReadAndBadValuesAreRefused()
    {
        var (spec, _) = JobSpecParser.Parse(Spec(), "job.yaml", ["stages.embed.tensor_parallel=2"]);
        Assert.Equal(2, spec.Stages.Count);

        var zero = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(), "job.yaml", ["stages.embed.tensor_parallel=0"]));
        Assert.Contains(zero.Errors, m => m.Contains("stages[1].tensor_parallel: '0' is not accepted"));
        var both = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(), "job.yaml", ["stages.embed.tensor_parallel=2", "stages.embed.partition.stages=2"]));
        Assert.Contains(both.Errors, m => m.Contains("stages[1].tensor_parallel: cannot be combined with partition"));
    }
}
