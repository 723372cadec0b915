using Sluice.Execution;

namespace Sluice.Jobs.Tests;

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
        var spec = JobSpecParser.Parse(Spec(), "job.yaml", []);
        Assert.Equal(["tokenize", "embed"], spec.Stages.Select(s => s.Name));
        var embed = spec.Stages[1].Run;
        Assert.Equal(16, embed.BatchSize);
        Assert.Equal(2, embed.Pool.Max);
        Assert.Equal(1, embed.Resources!.Cpus);
        Assert.Equal(0, spec.Stages[0].Run.Resources!.Cpus);
        var text = JobExecution.Explain(spec.Dataset(), spec.Sink(), spec.Options());
        Assert.Contains("embed (OnnxProcessor)  actor pool 1..2, batch 16", text);
        Assert.Contains("tokenize (BertTokenizeProcessor)", text);
    }

    [Fact]
    public void Parse_SetOverrides_ChangeFieldsByStageNameAndIndex()
    {
        var spec = JobSpecParser.Parse(Spec(), "job.yaml", ["stages.embed.batch_size=8", "stages[1].pool.max=3", "write.path=elsewhere", "execution.memory_budget=64MiB"]);
        Assert.Equal(8, spec.Stages[1].Run.BatchSize);
        Assert.Equal(3, spec.Stages[1].Run.Pool.Max);
        Assert.Equal("elsewhere", spec.Write.Path);
        Assert.Equal(64L << 20, spec.Execution.MemoryBudget);
        Assert.Equal(64L << 20, spec.Options().MemoryBudgetBytes);
    }

    [Fact]
    public void Parse_UnknownOp_NamesTheFieldTheValueAndTheAcceptedOps()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec("  - { name: x, op: translate }"), "job.yaml", []));
        var error = Assert.Single(e.Errors).ToString();
        Assert.Contains("job.yaml line", error);
        Assert.Contains("stages[2].op", error);
        Assert.Contains("'translate' is not accepted", error);
        Assert.Contains("bert_tokenize, onnx", error);
    }

    [Fact]
    public void Parse_MissingModelFile_NamesThePathAndHowToGetOne()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(), "job.yaml", [$"stages.embed.model={_dir["nope.onnx"]}"]));
        var error = Assert.Single(e.Errors).ToString();
        Assert.Contains("stages[1].model", error);
        Assert.Contains("nope.onnx' is not accepted; the file does not exist", error);
        Assert.Contains("sluice models export", error);
    }

    [Fact]
    public void Parse_SeveralProblems_ReportsEveryOneAtOnce()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(), "job.yaml",
            ["stages.embed.batch_size=0", "stages.embed.pool.max=abc", "stages.tokenize.colour=red", "read.format=xml", "write.mode=sometimes", "execution.memory_budget=lots"]));
        Assert.Equal(6, e.Errors.Count);
        Assert.Contains(e.Errors, m => m.ToString().Contains("stages[1].batch_size: '0' is not accepted; give a positive row count"));
        Assert.Contains(e.Errors, m => m.ToString().Contains("stages[1].pool.max: 'abc' is not accepted"));
        Assert.Contains(e.Errors, m => m.ToString().Contains("stages[0].colour: is not a field here; accepted: ") && m.ToString().Contains("max_length"));
        Assert.Contains(e.Errors, m => m.ToString().Contains("read.format: 'xml' is not accepted; give one of: parquet, csv, jsonl, openai_batch, text, images, range"));
        Assert.Contains(e.Errors, m => m.ToString().Contains("write.mode: 'sometimes' is not accepted; give one of: error, overwrite, resume"));
        Assert.Contains(e.Errors, m => m.ToString().Contains("execution.memory_budget: 'lots' is not accepted; give a size such as 512MiB"));
    }

    [Fact]
    public void Parse_PoolMaxBelowMin_IsRefused()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(), "job.yaml", ["stages.embed.pool.min=3"]));
        Assert.Contains(e.Errors, m => m.ToString().Contains("stages[1].pool: max 2 is below min 3; give max >= min"));
    }

    [Fact]
    public void Parse_SetWithUnknownStage_IsRefused()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(), "job.yaml", ["stages.nosuch.batch_size=8"]));
        var error = Assert.Single(e.Errors);
        Assert.Equal("--set stages.nosuch.batch_size=8", error.At!.Source);
        Assert.Contains("no stage has this name or index", error.Accepted);
    }

    [Fact]
    public void Parse_NotYaml_SaysWhereItBroke()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse("read: { format: text\nstages: [", "bad.yaml", []));
        Assert.Contains("bad.yaml", Assert.Single(e.Errors).ToString());
        Assert.Contains("not valid YAML", e.Errors[0].ToString());
    }

    [Fact]
    public void Parse_TensorParallel_IsReadAndBadValuesAreRefused()
    {
        var spec = JobSpecParser.Parse(Spec(), "job.yaml", ["stages.embed.tensor_parallel=2"]);
        Assert.Equal(2, spec.Stages.Count);

        var zero = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(), "job.yaml", ["stages.embed.tensor_parallel=0"]));
        Assert.Contains(zero.Errors, m => m.ToString().Contains("stages[1].tensor_parallel: '0' is not accepted"));
        var both = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(), "job.yaml", ["stages.embed.tensor_parallel=2", "stages.embed.partition.stages=2"]));
        Assert.Contains(both.Errors, m => m.ToString().Contains("stages[1].tensor_parallel: '2' is not accepted; cannot be combined with partition"));
    }
}
