using System.Collections.Generic;
using System.Text;

namespace ModelSdk.Generators.Emitting
{
    /// <summary>A small indenting text writer; generated files always use \n line ends.</summary>
    internal sealed class CodeWriter
    {
        private readonly StringBuilder _builder = new StringBuilder();
        private int _indent;

        public CodeWriter Line(string text = "")
        {
            if (text.Length > 0)
            {
                _builder.Append(' ', _indent * 4);
            }

            _builder.Append(text).Append('\n');
            return this;
        }

        public CodeWriter Open(string text)
        {
            Line(text);
            Line("{");
            _indent++;
            return this;
        }

        public CodeWriter Close(string suffix = "")
        {
            _indent--;
            return Line("}" + suffix);
        }

        /// <summary>Writes an XML doc element whose content lines are already escaped.</summary>
        public CodeWriter Doc(string element, IEnumerable<string> escapedLines, string attributes = "")
        {
            Line("/// <" + element + attributes + ">");
            foreach (string line in escapedLines)
            {
                Line(line.Length == 0 ? "///" : "/// " + line);
            }

            return Line("/// </" + element + ">");
        }

        public override string ToString() => _builder.ToString();
    }
}
