using System.Runtime.CompilerServices;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.IO.Files;

namespace Sluice.IO.OpenAiBatch;

/// <summary>One batch input file, or a line-aligned part of a large one: each non-blank line one request, checked as the Batch API would.</summary>
internal sealed class OpenAiBatchReadTask(string file, LineRange? range, OpenAiBatchOptions options, InvalidUtf8Tally invalid) : Contracts.ReadTask
{
    private readonly string _where = LineRange.Where(file, range);

    public override string Id => LineRange.Id(file, range);

    public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockRows, 1);
        var check = new Utf8Check(file, options.InvalidUtf8, invalid, range);
        try
        {
            // custom_id must be unique in a batch file (the API refuses the file otherwise); checked within a read task.
            var seen = new Dictionary<string, long>(StringComparer.Ordinal);
            var rows = new List<OpenAiRequest>(Math.Min(blockRows, 4096));
            long lineNumber = 0;
            await foreach (var line in LineRange.ReadAsync(file, range, check.Encoding, cancellationToken).ConfigureAwait(false))
            {
                lineNumber++;
                check.Check(line, lineNumber);
                if (string.IsNullOrWhiteSpace(line)) continue;
                var request = OpenAiRequest.Parse(line, _where, lineNumber);
                if (!seen.TryAdd(request.CustomId, lineNumber))
                    throw new BadInputException($"{_where} line {lineNumber}: custom_id '{request.CustomId}' was already used on line {seen[request.CustomId]}; give every request its own custom_id");
                rows.Add(request);
                if (rows.Count == blockRows)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return Build(rows);
                    rows.Clear();
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (rows.Count > 0) yield return Build(rows);
        }
        finally
        {
            check.Complete();
        }
    }

    private static RecordBatch Build(List<OpenAiRequest> rows)
    {
        var ids = new StringArray.Builder();
        var urls = new StringArray.Builder();
        var models = new StringArray.Builder();
        var bodies = new StringArray.Builder();
        var texts = new StringArray.Builder();
        var maxTokens = new Int32Array.Builder();
        var stops = new ListArray.Builder(StringType.Default);
        var stopValues = (StringArray.Builder)stops.ValueBuilder;
        var temperatures = new DoubleArray.Builder();
        var seeds = new Int64Array.Builder();
        foreach (var r in rows)
        {
            ids.Append(r.CustomId);
            urls.Append(r.Url);
            if (r.Model is null) models.AppendNull(); else models.Append(r.Model);
            bodies.Append(r.Body);
            if (r.Text is null) texts.AppendNull(); else texts.Append(r.Text);
            maxTokens.Append(r.Limits.MaxTokens);
            if (r.Limits.Stop is null) stops.AppendNull();
            else
            {
                stops.Append();
                foreach (var stop in r.Limits.Stop) stopValues.Append(stop);
            }
            temperatures.Append(r.Limits.Temperature);
            seeds.Append(r.Limits.Seed);
        }
        return new RecordBatch(OpenAiBatchDatasource.RequestSchema,
            [ids.Build(), urls.Build(), models.Build(), bodies.Build(), texts.Build(), maxTokens.Build(), stops.Build(), temperatures.Build(), seeds.Build()], rows.Count);
    }
}

/// <summary>One request line of a batch input file; <paramref name="Limits"/> what a (chat) completion asks of its own generation.</summary>
internal sealed record OpenAiRequest(string CustomId, string Url, string? Model, string Body, string? Text, OpenAiRequestLimits Limits)
{
    public static OpenAiRequest Parse(string line, string where, long lineNumber)
    {
        var at = $"{where} line {lineNumber}";
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new BadInputException($"{at}: not valid JSON ({e.Message}); each line of a batch file is one request object {{\"custom_id\", \"method\", \"url\", \"body\"}}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new BadInputException($"{at}: a {root.ValueKind} where a request object {{\"custom_id\", \"method\", \"url\", \"body\"}} belongs");
            var customId = String(root, "custom_id", at, "a unique string naming the request");
            if (customId.Length == 0) throw new BadInputException($"{at}: field 'custom_id' is empty; give a unique string naming the request");
            if (root.TryGetProperty("method", out var method) && (method.ValueKind != JsonValueKind.String || method.GetString() != "POST"))
                throw new BadInputException($"{at}: field 'method' is {method.GetRawText()}; the Batch API accepts \"POST\"");
            var url = String(root, "url", at, OpenAiEndpoints.Accepted);
            if (System.Array.IndexOf(OpenAiEndpoints.All, url) < 0)
                throw new BadInputException($"{at}: field 'url' is '{url}'; accepted: {OpenAiEndpoints.Accepted}");
            if (!root.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object)
                throw new BadInputException($"{at}: field 'body' is {(body.ValueKind == JsonValueKind.Undefined ? "missing" : body.ValueKind.ToString())}; give the request's body object");
            string? model = body.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            var text = url switch
            {
                OpenAiEndpoints.Embeddings => EmbeddingInput(body, at),
                OpenAiEndpoints.Completions => String(body, "prompt", at, "the prompt, a string", "body."),
                _ => ChatMessages(body, at),
            };
            var limits = url == OpenAiEndpoints.Embeddings ? OpenAiRequestLimits.None : OpenAiRequestLimits.Parse(body, at);
            return new OpenAiRequest(customId, url, model, body.GetRawText(), text, limits);
        }
    }

    private static string EmbeddingInput(JsonElement body, string at)
    {
        if (body.TryGetProperty("encoding_format", out var format) && format.ValueKind == JsonValueKind.String && format.GetString() != "float")
            throw new BadInputException($"{at}: body.encoding_format is '{format.GetString()}'; Sluice writes float arrays: give \"float\" or leave it out");
        if (body.TryGetProperty("dimensions", out _))
            throw new BadInputException($"{at}: body.dimensions is not supported (the model's embedding size is written); leave it out");
        if (body.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.Array)
            throw new BadInputException($"{at}: body.input is an array; give one input string per request line (one custom_id per input)");
        return String(body, "input", at, "the text to embed, a string", "body.");
    }

    private static string? ChatMessages(JsonElement body, string at)
    {
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw new BadInputException($"{at}: body.messages is missing or empty; give the chat messages [{{\"role\", \"content\"}}, ...]");
        return null;
    }

    private static string String(JsonElement obj, string name, string at, string accepted, string prefix = "")
    {
        if (!obj.TryGetProperty(name, out var value))
            throw new BadInputException($"{at}: field '{prefix}{name}' is missing; give {accepted}");
        if (value.ValueKind != JsonValueKind.String)
            throw new BadInputException($"{at}: field '{prefix}{name}' is {value.ValueKind.ToString().ToLowerInvariant()} {Short(value.GetRawText())}; give {accepted}");
        return value.GetString()!;
    }

    private static string Short(string raw) => raw.Length <= 40 ? raw : raw[..40] + "…";
}
