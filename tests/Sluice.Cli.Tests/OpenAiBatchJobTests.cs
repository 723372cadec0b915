using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Sluice.Cli.Commands;
using Sluice.Inference.Tests;
using Sluice.Jobs;

namespace Sluice.Cli.Tests;

/// <summary>An OpenAI Batch API embeddings file runs unchanged on MiniLM: every request answered once, custom_id kept, the vectors the model's.</summary>
[Collection(ModelCollection.Name)]
public sealed class OpenAiBatchJobTests(ModelFiles models) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Run_GzippedEmbeddingsBatchFile_AnswersEveryRequestOnceWithTheModelsVectors()
    {
        var lines = Jobs.Lines(150);
        var input = _dir["batch.jsonl.gz"];
        await using (var file = File.Create(input))
        await using (var gz = new GZipStream(file, CompressionLevel.Fastest))
        await using (var writer = new StreamWriter(gz, new UTF8Encoding(false)))
        {
            for (var i = 0; i < lines.Count; i++)
            {
                var request = new { custom_id = $"req-{i}", method = "POST", url = "/v1/embeddings", body = new { model = "all-MiniLM-L6-v2", input = lines[i] } };
                await writer.WriteLineAsync(JsonSerializer.Serialize(request));
            }
        }
        var yaml = $$"""
            name: openai-batch
            read: { format: openai_batch, path: {{input}}, block_rows: 32 }
            stages:
              - { name: tokenize, op: bert_tokenize, vocab: {{models.MiniLm.Vocab}}, column: text, max_length: 128 }
              - { name: embed, op: onnx, model: {{models.MiniLm.Model}}, pooling: mean, batch_size: 16, pool: { min: 1, max: 2 }, resources: { cpus: 1 } }
            write: { format: openai_batch, path: {{_dir["out"]}} }
            """;
        var spec = JobSpecParser.Parse(yaml, "job.yaml", []);
        await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);

        Assert.True(File.Exists(_dir["out/_SUCCESS"]));
        var responses = new Dictionary<string, JsonElement>();
        foreach (var part in Directory.GetFiles(_dir["out"], "part-*.jsonl"))
        {
            foreach (var line in await File.ReadAllLinesAsync(part))
            {
                var doc = JsonDocument.Parse(line).RootElement;
                Assert.True(responses.TryAdd(doc.GetProperty("custom_id").GetString()!, doc), "a custom_id answered twice");
                Assert.Equal(JsonValueKind.Null, doc.GetProperty("error").ValueKind);
                Assert.StartsWith("batch_req_", doc.GetProperty("id").GetString(), StringComparison.Ordinal);
            }
        }
        Assert.Equal(Enumerable.Range(0, 150).Select(i => $"req-{i}").Order(StringComparer.Ordinal), responses.Keys.Order(StringComparer.Ordinal));

        var sample = Enumerable.Range(0, 150).Where(i => i % 17 == 0).ToList();
        var reference = await Reference.EmbedAsync(models.MiniLm, sample.Select(i => lines[i]).ToList());
        for (var k = 0; k < sample.Count; k++)
        {
            var response = responses[$"req-{sample[k]}"].GetProperty("response");
            Assert.Equal(200, response.GetProperty("status_code").GetInt32());
            var body = response.GetProperty("body");
            Assert.Equal("list", body.GetProperty("object").GetString());
            Assert.Equal("all-MiniLM-L6-v2", body.GetProperty("model").GetString());
            var data = Assert.Single(body.GetProperty("data").EnumerateArray());
            var vector = data.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            Assert.Equal(384, vector.Length);
            double dot = 0, na = 0, nb = 0;
            for (var d = 0; d < vector.Length; d++) { dot += vector[d] * reference[k][d]; na += vector[d] * vector[d]; nb += reference[k][d] * reference[k][d]; }
            Assert.True(dot / Math.Sqrt(na * nb) >= 0.9999, $"req-{sample[k]}: cosine {dot / Math.Sqrt(na * nb)}");
        }
    }
}
