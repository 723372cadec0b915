using Microsoft.ML.OnnxRuntime;
using Sluice.Inference.Generation;

namespace Sluice.Inference.Tests.Generation;

/// <summary>The tiny random-weight decoder exported once to a temp folder, its prompts, and a batch-1 reference.</summary>
public sealed class TinyDecoderFixture : IDisposable
{
    public TinyDecoderFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "sluice-generate-tests-" + Guid.NewGuid().ToString("N"));
        Files = PackagedModels.Export(PackagedModels.TinyDecoder, Path.Combine(Root, "tiny-decoder"));
        Model = GenerationModel.Load(new GenerateOptions(Files.Directory), intraOpThreads: 1);
    }

    public string Root { get; }

    public PackagedModelFiles Files { get; }

    internal GenerationModel Model { get; }

    /// <summary>Prompts of mixed lengths (1 to ~60 characters), printable ASCII, drawn from a fixed seed.</summary>
    public static IReadOnlyList<string> Prompts(int count, int seed = 5)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(i => new string([.. Enumerable.Range(0, 1 + random.Next(60)).Select(_ => (char)random.Next(32, 127))]))];
    }

    internal GenerationRequest Request(string prompt, GenerationSettings settings) =>
        new([TinyDecoder.BosTokenId, .. Model.Tokenizer.Encode(prompt)], settings);

    internal static GenerationSettings Greedy(int maxNewTokens, IReadOnlyList<string>? stop = null, IReadOnlyList<int>? stopIds = null) =>
        new(maxNewTokens, new HashSet<int>([TinyDecoder.EosTokenId, .. stopIds ?? []]), stop ?? [], new TokenSampler(0, 0, 1), 0);

    /// <summary>
    /// Batch-1 greedy generation with no KV cache at all: every step runs the whole sequence so far from position 0 and
    /// takes the last position's most likely token; stops at eos or max_new_tokens. Independent of the engines' cache code.
    /// </summary>
    internal List<int> Reference(IReadOnlyList<int> prompt, int maxNewTokens)
    {
        var sequence = prompt.Select(t => (long)t).ToList();
        var generated = new List<int>();
        while (generated.Count < maxNewTokens)
        {
            var n = sequence.Count;
            using var ids = OrtValue.CreateTensorValueFromMemory(sequence.ToArray(), [1, n]);
            using var mask = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, n).ToArray(), [1, n]);
            using var positions = OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, n).Select(i => (long)i).ToArray(), [1, n]);
            var past = Enumerable.Range(0, 2 * Model.Layers)
                .Select(_ => OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [1, Model.KvHeads, 0, Model.HeadSize])).ToList();
            try
            {
                using var runOptions = new RunOptions();
                using var outputs = Model.Runner.Run(runOptions, Model.InputNames, [ids, mask, positions, .. past], Model.OutputNames);
                var logits = outputs[0].GetTensorDataAsSpan<float>();
                var token = TokenSampler.ArgMax(logits.Slice((n - 1) * TinyDecoder.Vocab, TinyDecoder.Vocab));
                generated.Add(token);
                if (token == TinyDecoder.EosTokenId) break;
                sequence.Add(token);
            }
            finally
            {
                foreach (var p in past) p.Dispose();
            }
        }
        return generated;
    }

    public void Dispose()
    {
        Model.Dispose();
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }
}
