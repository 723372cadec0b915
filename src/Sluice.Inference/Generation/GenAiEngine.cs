using Microsoft.ML.OnnxRuntimeGenAI;

namespace Sluice.Inference.Generation;

/// <summary>
/// Static batches through ONNX Runtime GenAI (engine genai), for a model directory with a <c>genai_config.json</c>:
/// rows are taken max_batch at a time, right-padded with the config's pad_token_id (GenAI masks pads; left padding
/// would be attended, silently wrong: research/genai.md), and generated greedily until every row of the batch is done.
/// Stop strings, stop token ids and max_new_tokens are then applied to each row's tokens as in our own loop, so both
/// engines give the same rows. GenAI stops a row itself only at its eos.
/// </summary>
internal sealed class GenAiEngine : IDisposable
{
    private readonly Model _model;
    private readonly GenerationModel _decoder;
    private readonly int _maxBatch;
    private readonly int _pad;
    private readonly Lock _gate = new();
    private long _generated;
    private string? _links;

    private GenAiEngine(Model model, GenerationModel decoder, int maxBatch, int pad)
    {
        _model = model;
        _decoder = decoder;
        _maxBatch = maxBatch;
        _pad = pad;
    }

    public long GeneratedTokens => Interlocked.Read(ref _generated);

    public static GenAiEngine Load(GenerateOptions options, GenerationModel decoder)
    {
        var config = GenerationModel.ConfigPath(options);
        if (!File.Exists(config))
            throw new BadInputException($"engine genai needs '{config}' beside the model (GenerateOptions.Engine); give engine continuous or static for a model without one");
        var pad = ReadPad(config) ?? decoder.EosTokenId
            ?? throw new BadInputException($"'{config}' names neither pad_token_id nor eos_token_id: engine genai right-pads with it");
        try
        {
            var dir = ModelDirectory(config, decoder.Path);
            return new GenAiEngine(new Model(dir), decoder, options.MaxBatch, pad) { _links = dir == Path.GetDirectoryName(Path.GetFullPath(config)) ? null : dir };
        }
        catch (OnnxRuntimeGenAIException e)
        {
            throw new SluiceException($"ONNX Runtime GenAI could not load the model in '{Path.GetDirectoryName(config)}': {e.Message}", e);
        }
    }

    public GenerationResult[] Generate(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken)
    {
        var results = new GenerationResult[requests.Count];
        for (var start = 0; start < requests.Count; start += _maxBatch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = requests.Skip(start).Take(_maxBatch).ToList();
            lock (_gate) GenerateBatch(batch, results.AsSpan(start, batch.Count));
        }
        return results;
    }

    private void GenerateBatch(List<GenerationRequest> batch, Span<GenerationResult> results)
    {
        var width = batch.Max(r => r.Prompt.Count);
        var maxNew = batch.Max(r => r.Settings.MaxNewTokens);
        var padded = new int[batch.Count * width];
        padded.AsSpan().Fill(_pad);
        for (var i = 0; i < batch.Count; i++)
            for (var t = 0; t < batch[i].Prompt.Count; t++) padded[i * width + t] = batch[i].Prompt[t];
        try
        {
            using var parameters = new GeneratorParams(_model);
            parameters.SetSearchOption("batch_size", batch.Count);
            // max_length counts the padded prompt width.
            parameters.SetSearchOption("max_length", Math.Min(width + maxNew, _decoder.ContextLength));
            parameters.SetSearchOption("do_sample", false);
            using var generator = new Generator(_model, parameters);
            generator.AppendTokens(padded);
            while (!generator.IsDone()) generator.GenerateNextToken();
            for (var i = 0; i < batch.Count; i++)
            {
                var sequence = generator.GetSequence((ulong)i);
                var row = new RowState(batch[i], _decoder.Tokenizer, _decoder.ContextLength);
                row.Cached = batch[i].Prompt.Count;
                // GenAI's sequence is the padded prompt, then the generated tokens.
                for (var t = width; t < sequence.Length && !row.Done; t++) row.Accept(sequence[t]);
                Interlocked.Add(ref _generated, row.Tokens.Count);
                results[i] = row.Result ?? throw new SluiceException($"ONNX Runtime GenAI stopped row {i} after {row.Tokens.Count} tokens, before max_new_tokens, a stop or its eos");
            }
        }
        catch (OnnxRuntimeGenAIException e)
        {
            throw new SluiceException($"ONNX Runtime GenAI failed on a batch of {batch.Count} prompts (widest {width} tokens): {e.Message}", e);
        }
    }

    /// <summary>
    /// A directory where GenAI finds the config and, under the file name the config gives, the model: the config's own
    /// directory when the model lies there; else (a cluster's file cache keeps each file in a folder of its hash) a
    /// temp folder of links to both.
    /// </summary>
    private static string ModelDirectory(string config, string model)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(config))!;
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(config));
        var name = doc.RootElement.GetProperty("model").GetProperty("decoder").GetProperty("filename").GetString()!;
        if (Path.GetFullPath(Path.Combine(dir, name)) == Path.GetFullPath(model) && Path.GetFileName(config) == GenerationModel.GenAiConfigFile) return dir;
        var links = Path.Combine(Path.GetTempPath(), $"sluice-genai-{Guid.NewGuid():N}");
        Directory.CreateDirectory(links);
        File.CreateSymbolicLink(Path.Combine(links, GenerationModel.GenAiConfigFile), Path.GetFullPath(config));
        File.CreateSymbolicLink(Path.Combine(links, name), Path.GetFullPath(model));
        return links;
    }

    private static int? ReadPad(string config)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(config));
        return doc.RootElement.GetProperty("model").TryGetProperty("pad_token_id", out var pad) ? pad.GetInt32() : null;
    }

    public void Dispose()
    {
        _model.Dispose();
        if (_links is not null) Directory.Delete(_links, recursive: true);
    }
}
