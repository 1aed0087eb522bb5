# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo app-editors/vim.
EAPI=8
inherit fixture-debian

DESCRIPTION="Vim, an improved vi-style text editor (fixture: Debian's vim-tiny)"
HOMEPAGE="https://www.vim.org"
LICENSE="vim"
SLOT="0"
KEYWORDS="amd64 x86"

src_install() {
	fixture-debian_src_install
	dosym vim.tiny /usr/bin/vim
}
