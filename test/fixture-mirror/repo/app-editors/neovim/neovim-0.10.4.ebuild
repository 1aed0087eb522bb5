# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo
# app-editors/neovim: testing-keyworded, so a host must accept ~amd64 for it.
EAPI=8
inherit fixture-debian

DESCRIPTION="Vim-fork focused on extensibility and agility (fixture: Debian's build)"
HOMEPAGE="https://neovim.io"
LICENSE="Apache-2.0 vim"
SLOT="0"
KEYWORDS="~amd64 ~x86"
