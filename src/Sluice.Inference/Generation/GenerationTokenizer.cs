using System.Text.RegularExpressions;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Sluice.Inference.Generation;

/// <summary>
/// A model's Hugging Face <c>tokenizer.json</c> for a BPE model (GPT-2 / Llama 3 style), read into
/// Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>: <c>model.vocab</c>, <c>model.merges</c> and
/// <c>added_tokens</c>; byte-level when its pre-tokenizer or decoder is ByteLevel. Other tokenizer models
/// (WordPiece, Unigram) are refused with the file and the model type named.
/// </summary>
internal sealed class GenerationTokenizer
{
    private readonly Tokenizer _tokenizer;
    private readonly HashSet<int> _special;

    // Microsoft.ML.Tokenizers does not document its tokenizers as thread-safe; prompts are encoded on the callers'
    // threads and outputs decoded on the generation loop's, and either is tiny next to a model step.
    private readonly Lock _gate = new();

    private GenerationTokenizer(Tokenizer tokenizer, HashSet<int> special)
    {
        _tokenizer = tokenizer;
        _special = special;
    }

    public static GenerationTokenizer Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new SluiceException($"tokenizer '{path}' has no model object; give a Hugging Face tokenizer.json");
        var type = model.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (type != "BPE")
            throw new SluiceException($"tokenizer '{path}' is a {type ?? "(no type)"} model; op generate reads BPE tokenizer.json files (GPT-2, Llama 3 style)");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in model.GetProperty("vocab").EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();
        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var m))
        {
            foreach (var e in m.EnumerateArray())
                merges.Add(e.ValueKind == JsonValueKind.Array ? $"{e[0].GetString()} {e[1].GetString()}" : e.GetString()!);
        }
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out var added))
        {
            foreach (var a in added.EnumerateArray())
            {
                var content = a.GetProperty("content").GetString()!;
                var id = a.GetProperty("id").GetInt32();
                special[content] = id;
                vocab.Remove(content);
            }
        }
        var byteLevel = IsByteLevel(root, "pre_tokenizer") || IsByteLevel(root, "decoder");
        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            SpecialTokens = special.Count > 0 ? special : null,
            ByteLevel = byteLevel,
            // Without one, BpeTokenizer splits on white space and drops it; merges never cross a pre-token.
            PreTokenizer = new RegexPreTokenizer(new Regex(SplitPattern(root) ?? (byteLevel ? Gpt2Pattern : WholeText), RegexOptions.Compiled), special.Count > 0 ? special : null),
        };
        try
        {
            return new GenerationTokenizer(BpeTokenizer.Create(options), [.. special.Values]);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new SluiceException($"tokenizer '{path}' could not be read as a BPE tokenizer: {e.Message}", e);
        }
    }

    public IReadOnlyList<int> Encode(string text)
    {
        lock (_gate) return _tokenizer.EncodeToIds(text, considerPreTokenization: true, considerNormalization: true);
    }

    /// <summary>The text of generated ids, special tokens left out.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var kept = ids.Where(i => !_special.Contains(i)).ToList();
        lock (_gate) return _tokenizer.Decode(kept);
    }

    /// <summary>GPT-2's pre-tokenizer (ByteLevel with use_regex): contractions, words, numbers, other runs, spaces.</summary>
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private const string WholeText = @"(?s).+";

    /// <summary>The Regex of a Split pre-tokenizer (alone or in a Sequence, as Llama 3 has), or null.</summary>
    private static string? SplitPattern(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var e) || e.ValueKind != JsonValueKind.Object) return null;
        IEnumerable<JsonElement> items = e.TryGetProperty("pretokenizers", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray() : [e];
        return items.Where(i => i.TryGetProperty("type", out var t) && t.GetString() == "Split" && i.TryGetProperty("pattern", out var p) && p.TryGetProperty("Regex", out _))
            .Select(i => i.GetProperty("pattern").GetProperty("Regex").GetString()).FirstOrDefault();
    }

    private static bool IsByteLevel(JsonElement root, string property)
    {
        if (!root.TryGetProperty(property, out var e) || e.ValueKind != JsonValueKind.Object) return false;
        if (e.TryGetProperty("type", out var type) && type.GetString() == "ByteLevel") return true;
        // A Sequence (Llama 3: Split then ByteLevel).
        return e.TryGetProperty(property == "decoder" ? "decoders" : "pretokenizers", out var items) && items.ValueKind == JsonValueKind.Array
            && items.EnumerateArray().Any(i => i.TryGetProperty("type", out var it) && it.GetString() == "ByteLevel");
    }
}
