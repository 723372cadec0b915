using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Cli.Commands;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Inference;
using Sluice.Inference.Generation;
using Sluice.IO;
using Sluice.Jobs;

namespace Sluice.Cli.Tests;

/// <summary>A spec job with <c>op: generate</c> on the tiny random-weight decoder, written to Parquet.</summary>
public sealed class GenerateJobTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Run_GenerateFromTemplate_WritesEachRowsGenerationToParquet()
    {
        var model = PackagedModels.Export(PackagedModels.TinyDecoder, _dir["tiny"]);
        var questions = Enumerable.Range(0, 23).Select(i => $"what is {i} + {i * 3 % 7}? {new string('x', i % 9)}").ToList();
        File.WriteAllLines(_dir["q.jsonl"], questions.Select((q, i) => $$"""{"id": {{i}}, "question": "{{q}}"}"""));
        var yaml = $$"""
            name: gen
            read: { format: jsonl, path: {{_dir["q.jsonl"]}}, block_rows: 8 }
            stages:
              - { name: generate, op: generate, model: {{model.Directory}}, template: "Q: {question}\nA:", max_new_tokens: 12, max_batch: 3, batch_size: 8, stop: ["\n\n"], stop_token_ids: [257] }
            write: { format: parquet, path: {{_dir["out"]}} }
            """;

        var spec = JobSpecParser.Parse(yaml, "job.yaml", []);
        var stats = await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);

        Assert.Equal(23, stats.Operators[^1].RowsOut);
        var rows = new Dictionary<long, (string Text, int Prompt, int Completion, string Reason)>();
        await foreach (var batch in Read.Parquet(_dir["out"]).IterateBatchesAsync())
        {
            var ids = (Int64Array)batch.Column("id");
            for (var i = 0; i < batch.Length; i++)
                rows[ids.GetValue(i)!.Value] = (((StringArray)batch.Column("generated_text")).GetString(i), ((Int32Array)batch.Column("prompt_tokens")).GetValue(i)!.Value,
                    ((Int32Array)batch.Column("completion_tokens")).GetValue(i)!.Value, ((StringArray)batch.Column("finish_reason")).GetString(i));
        }
        Assert.Equal(23, rows.Count);
        // The stage's token count (carried on its blocks' refs, not read from them) is what its rows say it generated.
        var generate = stats.Operators.Single(o => o.Name == "generate");
        Assert.Equal(rows.Values.Sum(r => (long)r.Completion), generate.TokensOut);
        Assert.True(generate.TokensPerSecond > 0);

        // The same prompts through the processor directly, one row per batch and one row per step: the job's rows must be these.
        await using var alone = new GenerateProcessor(new GenerateOptions(model.Directory) { Template = "Q: {question}\nA:", MaxNewTokens = 12, MaxBatch = 1, Stop = ["\n\n"], StopTokenIds = ["257"] });
        await alone.InitializeAsync(new ProcessorContext("alone", 0, ResourceRequest.OneCpu, []), CancellationToken.None);
        for (var i = 0; i < questions.Count; i++)
        {
            var one = new RecordBatch(new Schema([new Field("question", StringType.Default, false)], null), [new StringArray.Builder().Append(questions[i]).Build()], 1);
            var expected = await alone.ProcessAsync(one, CancellationToken.None);
            Assert.Equal(((StringArray)expected.Column("generated_text")).GetString(0), rows[i].Text);
            Assert.Equal(((Int32Array)expected.Column("completion_tokens")).GetValue(0), rows[i].Completion);
            Assert.Equal(((StringArray)expected.Column("finish_reason")).GetString(0), rows[i].Reason);
            // bos + the UTF-8 bytes of the rendered prompt (the tiny tokenizer is one token per byte).
            Assert.Equal(1 + System.Text.Encoding.UTF8.GetByteCount($"Q: {questions[i]}\nA:"), rows[i].Prompt);
            Assert.InRange(rows[i].Completion, 1, 12);
        }
    }

    [Fact]
    public async Task Run_OpenAiCompletionsBatchFile_AnswersEveryRequestWithItsGeneration()
    {
        var model = PackagedModels.Export(PackagedModels.TinyDecoder, _dir["tiny"]);
        var prompts = Enumerable.Range(0, 30).Select(i => $"Once upon a time {i}").ToList();
        File.WriteAllLines(_dir["batch.jsonl"], prompts.Select((p, i) => System.Text.Json.JsonSerializer.Serialize(
            new { custom_id = $"req-{i}", method = "POST", url = "/v1/completions", body = new { model = "tiny", prompt = p } })));
        var yaml = $$"""
            name: openai-gen
            read: { format: openai_batch, path: {{_dir["batch.jsonl"]}}, block_rows: 8 }
            stages:
              - { name: generate, op: generate, model: {{model.Directory}}, prompt_column: text, max_new_tokens: 6, max_batch: 4, pool: { min: 1, max: 2 } }
            write: { format: openai_batch, path: {{_dir["out"]}} }
            """;
        var spec = JobSpecParser.Parse(yaml, "job.yaml", []);
        await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);

        await using var alone = new GenerateProcessor(new GenerateOptions(model.Directory) { PromptColumn = "text", MaxNewTokens = 6, MaxBatch = 1 });
        await alone.InitializeAsync(new ProcessorContext("alone", 0, ResourceRequest.OneCpu, []), CancellationToken.None);
        var answered = new HashSet<string>();
        foreach (var part in Directory.GetFiles(_dir["out"], "part-*.jsonl"))
        {
            foreach (var line in await File.ReadAllLinesAsync(part))
            {
                var doc = System.Text.Json.JsonDocument.Parse(line).RootElement;
                var id = doc.GetProperty("custom_id").GetString()!;
                Assert.True(answered.Add(id), $"{id} answered twice");
                var body = doc.GetProperty("response").GetProperty("body");
                var prompt = prompts[int.Parse(id["req-".Length..], System.Globalization.CultureInfo.InvariantCulture)];
                var one = new RecordBatch(new Schema([new Field("text", StringType.Default, false)], null), [new StringArray.Builder().Append(prompt).Build()], 1);
                var expected = await alone.ProcessAsync(one, CancellationToken.None);
                Assert.Equal(((StringArray)expected.Column("generated_text")).GetString(0), body.GetProperty("choices")[0].GetProperty("text").GetString());
                Assert.Equal(((StringArray)expected.Column("finish_reason")).GetString(0), body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
                Assert.Equal(1 + prompt.Length, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
                Assert.Equal(((Int32Array)expected.Column("completion_tokens")).GetValue(0), body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            }
        }
        Assert.Equal(30, answered.Count);
    }

    [Fact]
    public async Task Run_OpenAiBatchFileWithPerRequestMaxTokensAndStop_EachAnswerObeysItsOwnLimits()
    {
        const int cap = 16;
        var model = PackagedModels.Export(PackagedModels.TinyDecoder, _dir["tiny"]);
        var prompts = Enumerable.Range(0, 24).Select(i => $"Once upon a time {i}").ToList();
        async Task<(string Text, int Tokens, string Reason)> Alone(string prompt, int maxNew, IReadOnlyList<string>? stop)
        {
            var options = new GenerateOptions(model.Directory) { PromptColumn = "text", MaxNewTokens = maxNew, MaxBatch = 1, PrefillBatch = 1, Stop = stop };
            await using var p = new GenerateProcessor(options);
            await p.InitializeAsync(new ProcessorContext("alone", 0, ResourceRequest.OneCpu, []), CancellationToken.None);
            var o = await p.ProcessAsync(new RecordBatch(new Schema([new Field("text", StringType.Default, false)], null), [new StringArray.Builder().Append(prompt).Build()], 1), CancellationToken.None);
            return (((StringArray)o.Column("generated_text")).GetString(0), ((Int32Array)o.Column("completion_tokens")).GetValue(0)!.Value, ((StringArray)o.Column("finish_reason")).GetString(0));
        }
        // Each request's own limits: none (the stage's 16), a smaller max_tokens, or a stop string its free run generates
        // (a printable ASCII character after the first) with a max_tokens above the stage's cap.
        var limits = new List<(int? MaxTokens, string? Stop)>();
        for (var i = 0; i < prompts.Count; i++)
        {
            var free = (await Alone(prompts[i], cap, null)).Text;
            var stop = free.Skip(1).Where(c => c is >= '!' and <= '~').Select(c => c.ToString()).FirstOrDefault();
            limits.Add((i % 3) switch { 0 => (null, null), 1 => (1 + i % 6, null), _ => (100, stop) });
        }
        File.WriteAllLines(_dir["batch.jsonl"], prompts.Select((p, i) => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["custom_id"] = $"req-{i}", ["method"] = "POST", ["url"] = "/v1/completions",
            ["body"] = new Dictionary<string, object?> { ["model"] = "tiny", ["prompt"] = p, ["max_tokens"] = limits[i].MaxTokens, ["stop"] = limits[i].Stop },
        })));
        var yaml = $$"""
            name: openai-limits
            read: { format: openai_batch, path: {{_dir["batch.jsonl"]}}, block_rows: 8 }
            stages:
              - { name: generate, op: generate, model: {{model.Directory}}, prompt_column: text, max_new_tokens: {{cap}}, max_batch: 4 }
            write: { format: openai_batch, path: {{_dir["out"]}} }
            """;
        var spec = JobSpecParser.Parse(yaml, "job.yaml", []);
        await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);

        var answered = new Dictionary<string, System.Text.Json.JsonElement>();
        foreach (var part in Directory.GetFiles(_dir["out"], "part-*.jsonl"))
            foreach (var line in await File.ReadAllLinesAsync(part))
                answered.Add(System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("custom_id").GetString()!, System.Text.Json.JsonDocument.Parse(line).RootElement);
        Assert.Equal(prompts.Count, answered.Count);
        var reasons = new List<string>();
        for (var i = 0; i < prompts.Count; i++)
        {
            var body = answered[$"req-{i}"].GetProperty("response").GetProperty("body");
            var choice = body.GetProperty("choices")[0];
            var (text, tokens, reason) = (choice.GetProperty("text").GetString()!, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), choice.GetProperty("finish_reason").GetString()!);
            var limit = Math.Min(limits[i].MaxTokens ?? cap, cap);
            // The batch-1 greedy run with the row's own limits as the stage's.
            Assert.Equal(await Alone(prompts[i], limit, limits[i].Stop is { } s ? [s] : null), (text, tokens, reason));
            Assert.InRange(tokens, 1, limit);
            if (reason == FinishReason.Length) Assert.Equal(limit, tokens);
            if (limits[i].Stop is { } stop) Assert.DoesNotContain(stop, text, StringComparison.Ordinal);
            reasons.Add($"{(limits[i].Stop is null ? limits[i].MaxTokens is null ? "stage" : "max" : "stop")}:{reason}");
        }
        // Rows ended by their own stop string and by their own max_tokens (below the stage's), truthfully reported.
        Assert.Contains("stop:stop", reasons);
        Assert.Contains("max:length", reasons);
    }

    [Fact]
    public void Parse_PrefillBatchBelowOneOrANamedLimitColumnMissing_NamesTheFieldBeforeTheJobStarts()
    {
        var model = PackagedModels.Export(PackagedModels.TinyDecoder, _dir["tiny"]);
        File.WriteAllText(_dir["q.jsonl"], """{"prompt": "a", "limit": 3, "stops": ["x"]}""");
        string Yaml(string extra) => $$"""
            name: gen
            read: { format: jsonl, path: {{_dir["q.jsonl"]}} }
            stages:
              - { name: generate, op: generate, model: {{model.Directory}}, {{extra}} }
            write: { format: parquet, path: {{_dir["out"]}} }
            """;

        var e = Assert.ThrowsAny<SluiceException>(() => JobSpecParser.Parse(Yaml("prefill_batch: 0"), "job.yaml", []));
        var missing = Assert.ThrowsAny<SluiceException>(() => JobSpecParser.Parse(Yaml("max_tokens_column: max_new"), "job.yaml", []));
        var ok = JobSpecParser.Parse(Yaml("prefill_batch: 4, max_tokens_column: limit, stop_column: stops"), "job.yaml", []);

        Assert.Contains("prefill_batch", e.Message, StringComparison.Ordinal);
        Assert.Contains("give 1 (each prompt alone) or more", e.Message, StringComparison.Ordinal);
        Assert.Contains("stage 'generate' reads column 'max_new', which the jsonl input does not have", missing.Message, StringComparison.Ordinal);
        Assert.NotNull(ok);
    }

    [Fact]
    public void Parse_GenerateWithMissingModelOrBadTemplate_NamesTheField()
    {
        var yaml = $$"""
            name: gen
            read: { format: jsonl, path: {{_dir["q.jsonl"]}} }
            stages:
              - { name: generate, op: generate, model: {{_dir["nowhere"]}}, template: "Q: {question" }
            write: { format: parquet, path: {{_dir["out"]}} }
            """;
        File.WriteAllText(_dir["q.jsonl"], """{"question": "a"}""");

        var e = Assert.ThrowsAny<SluiceException>(() => JobSpecParser.Parse(yaml, "job.yaml", []));

        Assert.Contains("template", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("not closed", e.Message, StringComparison.Ordinal);
    }
}
