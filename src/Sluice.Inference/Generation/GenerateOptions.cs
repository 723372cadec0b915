using System.Globalization;
using System.Text.Json.Serialization;
using Sluice.Contracts;

namespace Sluice.Inference.Generation;

/// <summary>How <see cref="GenerateProcessor"/> generates text.</summary>
/// <param name="Model">The decoder's <c>model.onnx</c>, or the directory holding it, its <c>tokenizer.json</c> and,
/// for engine genai, its <c>genai_config.json</c> (export one with <c>sluice models export tiny-decoder --out DIR</c>).</param>
public sealed record GenerateOptions([property: JobFile] string Model) : IValidatedOptions
{
    /// <summary>Our own loop over ONNX Runtime: a finished row leaves the batch and a waiting prompt joins at once.</summary>
    public const string Continuous = "continuous";

    /// <summary>The same loop run as static batches: prompts join only when the whole batch has finished (for comparison).</summary>
    public const string Static = "static";

    /// <summary>ONNX Runtime GenAI's generator, static right-padded batches; needs <c>genai_config.json</c> beside the model.</summary>
    public const string GenAi = "genai";

    public static IReadOnlyList<string> Engines { get; } = [Continuous, Static, GenAi];

    /// <summary>Output columns.</summary>
    public const string TextColumn = "generated_text";
    public const string PromptTokensColumn = "prompt_tokens";
    public const string CompletionTokensColumn = "completion_tokens";
    public const string FinishReasonColumn = "finish_reason";

    /// <summary>The tokenizer; null: <c>tokenizer.json</c> beside the model.</summary>
    [property: JobFile]
    public string? Tokenizer { get; init; }

    /// <summary>
    /// The model's <c>genai_config.json</c> (bos, eos and pad ids, context length; engine genai reads the model's directory
    /// through it); null: beside the model, if there. A job names it, so a cluster ships it with the model.
    /// </summary>
    [property: JobFile]
    public string? Config { get; init; }

    /// <summary>The string column holding each row's prompt. Give this or <see cref="Template"/>; neither: <c>prompt</c>.</summary>
    public string? PromptColumn { get; init; }

    /// <summary>A prompt built from columns: <c>{name}</c> is the row's value of column name, <c>{{</c> and <c>}}</c> are braces.</summary>
    public string? Template { get; init; }

    /// <summary>Most tokens generated per row; a row that reaches it finishes with reason <c>length</c>.</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>Strings that end a row's generation (reason <c>stop</c>); the text is cut before the first one.</summary>
    public IReadOnlyList<string>? Stop { get; init; }

    /// <summary>
    /// Token ids that end a row's generation (reason <c>stop</c>), besides the model's eos_token_id: whole numbers, written
    /// as a list (<c>[13, 257]</c>); held as text because the spec binder reads lists of text only.
    /// </summary>
    public IReadOnlyList<string>? StopTokenIds { get; init; }

    /// <summary>0: greedy (the most likely token). Above 0: sampling from the softmax of logits / temperature.</summary>
    public double Temperature { get; init; }

    /// <summary>Sampling: only the k most likely tokens; 0: all.</summary>
    public int TopK { get; init; }

    /// <summary>Sampling: only the most likely tokens whose probabilities sum to top_p; 1: all.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>
    /// Sampling seed. Each row draws from its own generator, seeded by this and the row's prompt tokens, so the same seed
    /// gives the same output whatever batches, actors or engine steps the row shares.
    /// </summary>
    public long Seed { get; init; }

    /// <summary>
    /// A column that sets rows apart for sampling (an id): its value joins the seed, so rows with the same prompt draw
    /// differently, and each still the same whatever its batch. Null: rows with the same prompt draw alike.
    /// </summary>
    public string? SeedColumn { get; init; }

    /// <summary>Rows generated together (the continuous batch's width, or the static batch size).</summary>
    public int MaxBatch { get; init; } = 16;

    /// <summary>
    /// Most prompts prefilled together in one Run (engines continuous and static): the prompts that join the batch at a
    /// step are sorted by length and prefilled in right-padded groups whose pads stay within a quarter of their tokens.
    /// 1: each prompt alone. Null: up to <see cref="MaxBatch"/>.
    /// </summary>
    public int? PrefillBatch { get; init; }

    /// <summary>
    /// An int column of each row's own most new tokens (an OpenAI request's <c>max_tokens</c>): where a row's value is not
    /// null, the row stops at the smaller of it and <see cref="MaxNewTokens"/> (reason <c>length</c>). Null: the column
    /// <c>max_tokens</c> when the rows have it (<c>read.format: openai_batch</c> gives it), else none; a column named here
    /// must exist.
    /// </summary>
    public string? MaxTokensColumn { get; init; }

    /// <summary>
    /// A column of each row's own stop strings (a list of strings, or one string): where a row's value is not null, they
    /// replace <see cref="Stop"/> for that row (stop_token_ids and eos still apply). Null: the column <c>stop</c> when the
    /// rows have it (<c>read.format: openai_batch</c> gives it), else none; a column named here must exist.
    /// </summary>
    public string? StopColumn { get; init; }

    /// <summary>
    /// Devices of one actor to split the decoder over (its first N GPUs, or N CPU shards without real GPUs), as for op
    /// onnx: the MLP and embedding weights are cut into N shards; attention, norms and the KV cache stay on the first
    /// device. 1: the model whole. Engines continuous and static only.
    /// </summary>
    public int TensorParallel { get; init; } = 1;

    /// <summary><see cref="Continuous"/>, <see cref="Static"/> or <see cref="GenAi"/>.</summary>
    public string Engine { get; init; } = Continuous;

    /// <summary>ONNX Runtime intra-op threads; null: the actor's cpus (at least 1).</summary>
    [JsonPropertyName("threads")]
    public int? IntraOpThreads { get; init; }

    /// <summary>
    /// Execution provider: auto (CUDA when the actor holds a real GPU, else the CPU), cpu or cuda (the actor's first GPU;
    /// fails, never falls back, without one), as for op onnx. Engine genai runs as its genai_config.json says.
    /// </summary>
    [JsonPropertyName("provider")]
    public string ExecutionProvider { get; init; } = OnnxOptions.AutoProvider;

    internal IReadOnlyList<string> StopStrings => Stop ?? [];

    internal IEnumerable<int> StopIds => (StopTokenIds ?? []).Select(i => int.Parse(i, NumberStyles.None, CultureInfo.InvariantCulture));

    internal void Validate()
    {
        var errors = Problems().Select(p => $"{nameof(GenerateOptions)}.{p}").ToList();
        if (errors.Count > 0) throw new SluiceException(string.Join("; ", errors));
    }

    public IEnumerable<OptionError> Problems()
    {
        var inv = CultureInfo.InvariantCulture;
        if (string.IsNullOrWhiteSpace(Model)) yield return new(nameof(Model), Model, "give the path of a decoder's model.onnx or of its directory");
        if (PromptColumn is not null && Template is not null) yield return new(nameof(Template), Template, "give prompt_column or template, not both");
        if (Template is not null && PromptTemplate.Problem(Template) is { } problem) yield return new(nameof(Template), Template, problem);
        if (MaxNewTokens < 1) yield return new(nameof(MaxNewTokens), MaxNewTokens.ToString(inv), "give 1 or more");
        if (Stop?.Any(string.IsNullOrEmpty) == true) yield return new(nameof(Stop), "an empty string", "give non-empty stop strings");
        if (StopTokenIds?.Any(i => !int.TryParse(i, NumberStyles.None, inv, out _)) == true)
            yield return new(nameof(StopTokenIds), string.Join(", ", StopTokenIds), "give token ids: whole numbers of 0 or more, e.g. [13, 257]");
        if (!double.IsFinite(Temperature) || Temperature < 0) yield return new(nameof(Temperature), Temperature.ToString(inv), "give 0 (greedy) or more (sampling)");
        if (TopK < 0) yield return new(nameof(TopK), TopK.ToString(inv), "give 0 (all tokens) or more");
        if (!(TopP > 0 && TopP <= 1)) yield return new(nameof(TopP), TopP.ToString(inv), "give a value in (0, 1]");
        if (MaxBatch < 1) yield return new(nameof(MaxBatch), MaxBatch.ToString(inv), "give 1 or more");
        if (PrefillBatch is < 1) yield return new(nameof(PrefillBatch), PrefillBatch.Value.ToString(inv), "give 1 (each prompt alone) or more, or leave it out (up to max_batch)");
        if (MaxTokensColumn is not null && string.IsNullOrWhiteSpace(MaxTokensColumn)) yield return new(nameof(MaxTokensColumn), MaxTokensColumn, "give a column name, or leave it out (the column max_tokens, when there)");
        if (StopColumn is not null && string.IsNullOrWhiteSpace(StopColumn)) yield return new(nameof(StopColumn), StopColumn, "give a column name, or leave it out (the column stop, when there)");
        if (!Engines.Contains(Engine, StringComparer.OrdinalIgnoreCase)) yield return new(nameof(Engine), Engine, $"give {string.Join(", ", Engines)}");
        if (TensorParallel < 1) yield return new(nameof(TensorParallel), TensorParallel.ToString(inv), "give 1 (the decoder whole) or more (devices of one actor to split it over)");
        if (TensorParallel > 1 && string.Equals(Engine, GenAi, StringComparison.OrdinalIgnoreCase))
            yield return new(nameof(TensorParallel), TensorParallel.ToString(inv), "engine genai runs the model whole; give engine continuous or static to split it, or tensor_parallel 1");
        if (string.Equals(Engine, GenAi, StringComparison.OrdinalIgnoreCase) && Temperature > 0)
            yield return new(nameof(Temperature), Temperature.ToString(inv), "engine genai runs greedy here (its sampler is not seeded per row); give temperature 0 or engine continuous");
        if (!OnnxOptions.ExecutionProviders.Contains(ExecutionProvider, StringComparer.OrdinalIgnoreCase))
            yield return new(nameof(ExecutionProvider), ExecutionProvider, $"give {string.Join(", ", OnnxOptions.ExecutionProviders)}");
        if (IntraOpThreads is < 1) yield return new(nameof(IntraOpThreads), IntraOpThreads.Value.ToString(inv), "give 1 or more, or leave it out to use the actor's cpus");
    }

    /// <summary>
    /// The columns the op needs: the prompt column or the template's columns, and the seed, max tokens and stop columns
    /// named (not the default max_tokens and stop, read only when there).
    /// </summary>
    public IReadOnlyList<string> PromptColumns() =>
        [.. (Template is not null && PromptTemplate.Problem(Template) is null ? PromptTemplate.Parse(Template).Columns : [PromptColumn ?? DefaultPromptColumn]),
         .. new[] { SeedColumn, MaxTokensColumn, StopColumn }.OfType<string>()];

    /// <summary>The prompt column when neither prompt_column nor template is given.</summary>
    public const string DefaultPromptColumn = "prompt";

    /// <summary>The column of rows' own max tokens read when present and <see cref="MaxTokensColumn"/> is not given.</summary>
    public const string DefaultMaxTokensColumn = "max_tokens";

    /// <summary>The column of rows' own stop strings read when present and <see cref="StopColumn"/> is not given.</summary>
    public const string DefaultStopColumn = "stop";
}
