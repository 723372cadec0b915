namespace X; internal static class Placeholder { }
