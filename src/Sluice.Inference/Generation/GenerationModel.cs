using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Sluice.Inference.Partitioning.TensorParallel;

namespace Sluice.Inference.Generation;

/// <summary>
/// A decoder loaded for generation: its ONNX session, its tokenizer and the ids its <c>genai_config.json</c> names
/// (bos, eos, context length; absent file: no bos, no eos, the context unbounded). The model's I/O is the common
/// one of exported decoders: <c>input_ids</c>, <c>attention_mask</c>, <c>position_ids</c>,
/// <c>past_key_values.%d.key/value</c> [batch, kv_heads, past, head] in; <c>logits</c> and <c>present.%d.key/value</c> out.
/// </summary>
internal sealed class GenerationModel : IDisposable
{
    public const string ModelFile = "model.onnx";
    public const string TokenizerFile = "tokenizer.json";
    public const string GenAiConfigFile = "genai_config.json";

    private GenerationModel(string path, IModelRunner runner, GenerationTokenizer tokenizer, int layers, int kvHeads, int headSize)
    {
        Path = path;
        Runner = runner;
        Tokenizer = tokenizer;
        Layers = layers;
        KvHeads = kvHeads;
        HeadSize = headSize;
        InputNames = ["input_ids", "attention_mask", "position_ids", .. Enumerable.Range(0, layers).SelectMany(l => new[] { $"past_key_values.{l}.key", $"past_key_values.{l}.value" })];
        OutputNames = ["logits", .. Enumerable.Range(0, layers).SelectMany(l => new[] { $"present.{l}.key", $"present.{l}.value" })];
    }

    public string Path { get; }

    /// <summary>What a step runs on: the decoder's one session, or its tensor-parallel shards (<see cref="GenerateOptions.TensorParallel"/>).</summary>
    public IModelRunner Runner { get; }

    public GenerationTokenizer Tokenizer { get; }

    public int Layers { get; }

    public int KvHeads { get; }

    public int HeadSize { get; }

    public int? BosTokenId { get; private init; }

    public int? EosTokenId { get; private init; }

    /// <summary>Tokens a row may hold (prompt plus generated); int.MaxValue when the config does not say.</summary>
    public int ContextLength { get; private init; } = int.MaxValue;

    public string[] InputNames { get; }

    public string[] OutputNames { get; }

    /// <summary>The model file a <see cref="GenerateOptions.Model"/> names: the file, or model.onnx in the directory.</summary>
    public static string ModelPath(string model) => Directory.Exists(model) ? System.IO.Path.Combine(model, ModelFile) : model;

    /// <summary>The tokenizer the options name, or tokenizer.json beside the model.</summary>
    public static string TokenizerPath(GenerateOptions options) =>
        options.Tokenizer ?? System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(ModelPath(options.Model)))!, TokenizerFile);

    public static string ConfigPath(GenerateOptions options) => options.Config ??
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(ModelPath(options.Model)))!, GenAiConfigFile);

    /// <param name="addProvider">The execution provider of shard <c>i</c>'s sessions (0 for the whole model); null, or returning null: the CPU.</param>
    /// <param name="decorate">Wraps the runner (a simulated device's hold around each Run); null: as loaded.</param>
    public static GenerationModel Load(GenerateOptions options, int intraOpThreads, Func<int, Action<SessionOptions>?>? addProvider = null, Func<IModelRunner, IModelRunner>? decorate = null)
    {
        var path = System.IO.Path.GetFullPath(ModelPath(options.Model));
        if (!File.Exists(path)) throw new BadInputException($"model file '{path}' does not exist (GenerateOptions.Model); export a tiny one with `sluice models export tiny-decoder --out DIR`");
        var tokenizerPath = System.IO.Path.GetFullPath(TokenizerPath(options));
        if (!File.Exists(tokenizerPath)) throw new BadInputException($"tokenizer '{tokenizerPath}' does not exist (GenerateOptions.Tokenizer; by default tokenizer.json beside the model)");
        var tokenizer = GenerationTokenizer.Load(tokenizerPath);
        addProvider ??= _ => null;
        IModelRunner runner;
        try
        {
            runner = options.TensorParallel > 1
                ? TensorParallelModel.Load(path, options.TensorParallel, intraOpThreads, addProvider)
                : OnnxModel.CreateSession(path, intraOpThreads, addProvider(0));
        }
        catch (OnnxRuntimeException e)
        {
            throw new SluiceException($"model '{path}' could not be loaded{(options.TensorParallel > 1 ? $" tensor-parallel ({options.TensorParallel} shards)" : "")}: {e.Message}", e);
        }
        try
        {
            var layers = runner.InputMetadata.Keys.Count(k => k.StartsWith("past_key_values.", StringComparison.Ordinal) && k.EndsWith(".key", StringComparison.Ordinal));
            string[] required = ["input_ids", "attention_mask", "position_ids", "past_key_values.0.key"];
            var missing = required.Where(r => !runner.InputMetadata.ContainsKey(r)).ToList();
            if (missing.Count > 0 || !runner.OutputMetadata.ContainsKey("logits"))
                throw new SluiceException($"model '{path}' is not a decoder with a KV cache: it lacks {string.Join(", ", missing.Append("logits").Where(n => !runner.InputMetadata.ContainsKey(n) && !runner.OutputMetadata.ContainsKey(n)))}; it has inputs {string.Join(", ", runner.InputMetadata.Keys)}");
            var dims = runner.InputMetadata["past_key_values.0.key"].Dimensions;
            if (dims.Length != 4 || dims[1] <= 0 || dims[3] <= 0)
                throw new SluiceException($"model '{path}': past_key_values.0.key has shape [{string.Join(", ", dims)}]; expected [batch, kv_heads, past, head] with fixed kv_heads and head");
            var (bos, eos, context) = ReadConfig(ConfigPath(options));
            return new GenerationModel(path, decorate?.Invoke(runner) ?? runner, tokenizer, layers, dims[1], dims[3]) { BosTokenId = bos, EosTokenId = eos, ContextLength = context ?? int.MaxValue };
        }
        catch
        {
            runner.Dispose();
            throw;
        }
    }

    /// <summary>bos, eos and context length from a genai_config.json; all null when the file is absent.</summary>
    internal static (int? Bos, int? Eos, int? Context) ReadConfig(string path)
    {
        if (!File.Exists(path)) return (null, null, null);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var model = doc.RootElement.GetProperty("model");
            static int? Int(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.Array ? v[0].GetInt32() : v.GetInt32() : null;
            return (Int(model, "bos_token_id"), Int(model, "eos_token_id"), Int(model, "context_length"));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new SluiceException($"'{path}' is not a readable genai_config.json (model.bos_token_id, eos_token_id, context_length): {e.Message}", e);
        }
    }

    public void Dispose() => Runner.Dispose();
}
