namespace Sluice.Cli.Tests;

/// <summary>Job specs and inputs for the end-to-end tests.</summary>
internal static class Jobs
{
    public static string EmbedSpec(string input, string format, string model, string vocab, string output, int blockRows = 64, int batch = 16, string write = "") => $$"""
        name: e2e
        read: { format: {{format}}, path: {{input}}, block_rows: {{blockRows}} }
        stages:
          - { name: tokenize, op: bert_tokenize, vocab: {{vocab}}, column: text, max_length: 128 }
          - { name: embed, op: onnx, model: {{model}}, pooling: mean, batch_size: {{batch}}, pool: { min: 1, max: 2 }, resources: { cpus: 1 } }
        write: { format: parquet, path: {{output}}{{write}} }
        """;

    public static readonly string[] Sentences =
    [
        "Sluice streams batches through bounded queues.",
        "The quick brown fox jumps over the lazy dog.",
        "Permission is hereby granted, free of charge, to any person obtaining a copy of this software.",
        "THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS \"AS IS\" AND ANY EXPRESS OR IMPLIED WARRANTIES.",
        "short",
        "Tabs\tand   spaces, punctuation!? and numbers 12345 all tokenize.",
        string.Join(' ', Enumerable.Repeat("a long line that will be truncated at one hundred twenty eight tokens", 20)),
    ];

    public static List<string> Lines(int count) =>
        Enumerable.Range(0, count).Select(i => $"{Sentences[i % Sentences.Length]} (row {i})").ToList();
}
